/// @file
/// @brief vgpu::sim openb replay: Alibaba's GPU trace (cluster-trace-gpu-v2023, "openb") run
/// through the placement engine with FGD's published method.
///
/// FGD's method (Weng et al., USENIX ATC '23, and its artifact): tasks are drawn from the
/// trace's GPU tasks *with replacement*, in random order, until the GPU they request adds up to
/// 130% of the cluster's GPUs; tasks never leave; each arrival is placed or rejected; seeds
/// 42, 43, ... are averaged. The KPI is the allocation ratio at 100% and 130% arrived load.
///
/// What a vGPU engine changes (OpenbReport::notes lists them for each run):
/// - Only GPU framebuffer is placed. Host CPU and memory, which FGD also packs, are not
///   modelled; CPU-only tasks (num_gpu 0) ask nothing of a GPU and are skipped.
/// - A task asking for gpu_milli of a GPU becomes a request for the smallest compute (C-series)
///   vGPU type holding that fraction of the chosen GPU model's framebuffer
///   (Request::gpu_milli); a whole-GPU task asks for the whole-GPU C type. num_gpu > 1 becomes
///   an all-or-nothing request for num_gpu vGPUs on distinct GPUs of one host.
/// - Trace GPU models are mapped to catalog models by openb_default_mapping() (one table,
///   overridable); the trace's G2 and G3 are undisclosed, so their mapping is an assumption.
/// - Because a share rounds up to a type, a GPU can be fully given out while its tasks asked
///   for less: requested allocation (FGD's KPI) stays below committed allocation (framebuffer
///   given out), and the difference is the price of vGPU types, whatever the policy.
///
/// Usage:
/// @code
///   auto nodes = vgpu::sim::load_openb_nodes("openb_node_list_gpu_node.csv");
///   auto tasks = vgpu::sim::load_openb_tasks("openb_pod_list_default.csv");
///   auto report = vgpu::sim::run_openb(*nodes, *tasks, vgpu::builtin_catalog(), {});
/// @endcode
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vgpu/catalog.hpp"
#include "vgpu/error.hpp"
#include "vgpu/placement/engine.hpp"
#include "vgpu/placement/policy.hpp"
#include "vgpu/sim/common.hpp"
#include "vgpu/sim/csv.hpp"

namespace vgpu::sim {

// ---- the trace ---------------------------------------------------------------------------

/// One GPU node of the trace (a row of openb_node_list_gpu_node.csv).
struct OpenbNode {
  std::string name;        ///< Column sn, e.g. "openb-node-0000".
  std::uint32_t gpus = 0;  ///< Column gpu: number of GPUs.
  std::string model;       ///< Column model: the trace's GPU model name, e.g. "T4" or "G2".
  std::size_t line = 0;    ///< Line in the file (for messages).
};

/// One task of the trace (a row of an openb_pod_list_*.csv).
struct OpenbTask {
  std::string name;                   ///< Column name, e.g. "openb-pod-0001".
  std::uint32_t num_gpu = 0;          ///< Column num_gpu: GPUs asked for (0: a CPU-only task).
  std::uint32_t gpu_milli = 0;        ///< Column gpu_milli: thousandths of each GPU (1000: whole).
  std::vector<std::string> gpu_spec;  ///< Column gpu_spec split at '|'; empty: any model.
  std::size_t line = 0;               ///< Line in the file (for messages).

  /// GPUs the task asks for, e.g. 0.47 for one GPU at 470 milli, 8 for num_gpu 8.
  [[nodiscard]] double gpu_demand() const {
    return static_cast<double>(num_gpu) * static_cast<double>(gpu_milli) / 1000.0;
  }
};

/// The nodes of a node list read as CSV (columns sn, gpu, model; others are ignored). Nodes
/// without GPUs are skipped.
inline Result<std::vector<OpenbNode>> openb_nodes(const Result<CsvTable>& table) {
  if (!table) return table.error();
  constexpr std::string_view what = "an openb node list (sn,cpu_milli,memory_mib,gpu,model)";
  auto sn = table->column("sn", what);
  if (!sn) return sn.error();
  auto gpu = table->column("gpu", what);
  if (!gpu) return gpu.error();
  auto model = table->column("model", what);
  if (!model) return model.error();
  std::vector<OpenbNode> out;
  for (std::size_t r = 0; r < table->rows.size(); ++r) {
    auto n = csv_number(*table, r, *gpu, 0, 64);
    if (!n) return n.error();
    if (*n == 0) continue;
    OpenbNode node;
    node.name = std::string(trim(table->rows[r][*sn]));
    node.gpus = static_cast<std::uint32_t>(*n);
    node.model = std::string(trim(table->rows[r][*model]));
    node.line = table->lines[r];
    if (node.model.empty() || node.model == "nan")
      return fail(Errc::invalid_argument, table->where(r) + ": node " + node.name + " has " +
                                              std::to_string(node.gpus) +
                                              " GPUs but no model; give the GPU model name");
    if (node.name.empty())
      return fail(Errc::invalid_argument, table->where(r) + ": sn is empty; name every node");
    out.push_back(std::move(node));
  }
  if (out.empty())
    return fail(Errc::invalid_argument, table->source +
                                            ": no node with GPUs; give the GPU node list "
                                            "(openb_node_list_gpu_node.csv)");
  return out;
}

/// The tasks of a pod list read as CSV (columns name, num_gpu, gpu_milli; gpu_spec if present;
/// others are ignored). CPU-only tasks (num_gpu 0) are kept; the replay skips them.
inline Result<std::vector<OpenbTask>> openb_tasks(const Result<CsvTable>& table) {
  if (!table) return table.error();
  constexpr std::string_view what =
      "an openb pod list (name,cpu_milli,memory_mib,num_gpu,"
      "gpu_milli,...)";
  auto name = table->column("name", what);
  if (!name) return name.error();
  auto num_gpu = table->column("num_gpu", what);
  if (!num_gpu) return num_gpu.error();
  auto gpu_milli = table->column("gpu_milli", what);
  if (!gpu_milli) return gpu_milli.error();
  std::optional<std::size_t> spec;
  if (auto s = table->column("gpu_spec", what)) spec = *s;
  std::vector<OpenbTask> out;
  for (std::size_t r = 0; r < table->rows.size(); ++r) {
    OpenbTask t;
    t.name = std::string(trim(table->rows[r][*name]));
    t.line = table->lines[r];
    auto n = csv_number(*table, r, *num_gpu, 0, 64);
    if (!n) return n.error();
    t.num_gpu = static_cast<std::uint32_t>(*n);
    auto m = csv_number(*table, r, *gpu_milli, 0, 1000);
    if (!m) return m.error();
    t.gpu_milli = static_cast<std::uint32_t>(*m);
    if (t.num_gpu > 0 && t.gpu_milli == 0)
      return fail(Errc::invalid_argument,
                  table->where(r) + ": task " + t.name + " asks for " + std::to_string(t.num_gpu) +
                      " GPU(s) with gpu_milli 0; give the share of each GPU (1 to 1000)");
    if (t.num_gpu == 0 && t.gpu_milli != 0)
      return fail(Errc::invalid_argument, table->where(r) + ": task " + t.name + " has gpu_milli " +
                                              std::to_string(t.gpu_milli) +
                                              " but num_gpu 0; give num_gpu 1 for a shared GPU");
    if (spec) {
      const std::string_view text_spec = trim(table->rows[r][*spec]);
      if (!text_spec.empty() && text_spec != "nan") {
        std::size_t start = 0;
        while (start <= text_spec.size()) {
          const std::size_t bar = std::min(text_spec.find('|', start), text_spec.size());
          const std::string_view one = trim(text_spec.substr(start, bar - start));
          if (one.empty())
            return fail(Errc::invalid_argument,
                        table->where(r) + ": gpu_spec \"" + std::string(text_spec) +
                            "\" has an empty model name; separate models with '|'");
          t.gpu_spec.emplace_back(one);
          start = bar + 1;
        }
      }
    }
    out.push_back(std::move(t));
  }
  if (out.empty())
    return fail(Errc::invalid_argument,
                table->source + ": the header names the columns but there are no tasks");
  return out;
}

/// Parses node list text @p text; @p source names it in messages (see openb_nodes()).
inline Result<std::vector<OpenbNode>> parse_openb_nodes(std::string_view text, std::string source) {
  return openb_nodes(parse_csv(text, std::move(source)));
}

/// Parses pod list text @p text; @p source names it in messages (see openb_tasks()).
inline Result<std::vector<OpenbTask>> parse_openb_tasks(std::string_view text, std::string source) {
  return openb_tasks(parse_csv(text, std::move(source)));
}

/// Reads the node list file at @p path (see openb_nodes()).
inline Result<std::vector<OpenbNode>> load_openb_nodes(const std::string& path) {
  return openb_nodes(read_csv(path));
}

/// Reads the pod list file at @p path (see openb_tasks()).
inline Result<std::vector<OpenbTask>> load_openb_tasks(const std::string& path) {
  return openb_tasks(read_csv(path));
}

// ---- trace GPU models -> catalog models ---------------------------------------------------

/// Which catalog model stands in for a GPU model named in the trace, and why.
struct ModelMapping {
  std::string trace_model;    ///< As the trace names it, e.g. "V100M16".
  std::string catalog_model;  ///< A catalog model name or alias, e.g. "T4".
  std::string reason;         ///< Why (printed in reports).
};

/// The mapping used unless overridden: the one table to change.
///
/// The catalog holds vGPU-capable models only. P100 and a 16 GB V100 are not in it, G2 and G3
/// are undisclosed. Choices:
/// - T4 -> T4, A10 -> A10, V100M32 -> V100 PCIe 32GB: the same cards.
/// - V100M16 -> T4: the catalog's V100 is the 32 GB card and cannot be cut to 16 GiB; T4 is
///   the 16 GiB card with the same compute types a 16 GB V100 would have (4C, 8C, 16C) and the
///   same equal-size-only rule (Volta and Turing have no mixed-size mode).
/// - P100 -> T4: P100 is 16 GB and Pascal has no mixed-size mode; T4 again matches both.
/// - G2 -> A100 PCIe 40GB, G3 -> A100 PCIe 80GB: assumption. FGD's paper and the trace's
///   README only say these are undisclosed internal codes of newer cards; both come in 8-GPU
///   hosts (like the V100M32 ones), G3's hosts are the larger ones (128 CPUs, 768 GiB against
///   G2's 96 CPUs, 384 GiB), and the A100 was the data-centre ML card of the trace's time.
///   Both A100s support mixed-size time-sliced C types, so this choice decides how much of the
///   cluster (4,704 of 6,212 GPUs) mixed-size mode reaches.
inline const std::vector<ModelMapping>& openb_default_mapping() {
  static const std::vector<ModelMapping> table = {
      {"G2", "A100 PCIe 40GB",
       "assumption: undisclosed model in 8-GPU hosts; taken as an A100 40GB, the data-centre ML "
       "card of the trace's time"},
      {"G3", "A100 PCIe 80GB",
       "assumption: undisclosed model in the largest 8-GPU hosts; taken as an A100 80GB"},
      {"T4", "T4", "same card"},
      {"A10", "A10", "same card"},
      {"V100M32", "V100 PCIe 32GB", "same GPU (trace: V100 32 GB; catalog: the PCIe board)"},
      {"V100M16", "T4",
       "not in the catalog (its V100 is 32 GB); T4 has the same 16 GiB, the same C types "
       "(4C/8C/16C) and no mixed-size mode"},
      {"P100", "T4",
       "not vGPU-capable in this catalog; T4 has the same 16 GiB and, like Pascal, no "
       "mixed-size mode"},
  };
  return table;
}

/// @p base with overrides applied; each override is "TRACE=CATALOG", e.g. "G2=A100 PCIe 80GB"
/// (a new trace name adds a row).
inline Result<std::vector<ModelMapping>> apply_mapping_overrides(
    std::vector<ModelMapping> base, const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    const std::string trace = eq == std::string::npos ? "" : std::string(trim(o.substr(0, eq)));
    const std::string model = eq == std::string::npos ? "" : std::string(trim(o.substr(eq + 1)));
    if (trace.empty() || model.empty())
      return fail(Errc::invalid_argument, "model mapping \"" + o +
                                              "\" is not TRACE=CATALOG; write e.g. "
                                              "G2=\"A100 PCIe 80GB\"");
    auto it = std::find_if(base.begin(), base.end(),
                           [&](const ModelMapping& m) { return m.trace_model == trace; });
    if (it == base.end())
      base.push_back(ModelMapping{trace, model, "given by the user"});
    else
      *it = ModelMapping{trace, model, "given by the user"};
  }
  return base;
}

// ---- running ------------------------------------------------------------------------------

/// How the replay runs.
struct OpenbOptions {
  std::vector<std::string> policies;  ///< Policy names; empty: every name in policy_names().
  /// Modes: equal_size, and mixed_size (mixed-capable models switched to mixed-size mode, the
  /// others stay in equal-size mode).
  std::vector<GpuMode> modes = {GpuMode::equal_size, GpuMode::mixed_size};
  std::uint32_t seeds = 10;       ///< Number of seeds.
  std::uint64_t first_seed = 42;  ///< Seeds first_seed .. first_seed + seeds - 1 (FGD: 42).
  std::vector<double> loads = {1.0, 1.3};  ///< Arrived loads to measure at; the last ends a run.
  Series series = Series::C;               ///< The vGPU series tasks ask for (ML tasks: compute).
  /// fragmentation-aware: take the target workload from the trace's GPU tasks, as FGD does
  /// (true), or learn it from arrivals (false).
  bool target_workload_from_trace = true;
  std::vector<ModelMapping> mapping = openb_default_mapping();  ///< Trace -> catalog models.
  unsigned threads = 0;  ///< Worker threads (0: the hardware's count); runs are independent.
  /// Called after each run with (runs done, runs in all), one call at a time.
  std::function<void(std::size_t, std::size_t)> progress;
};

/// The state of one run when the arrived load reached a measuring point.
struct OpenbPoint {
  double load = 0;                  ///< The measuring point (1.0 = 100%).
  double requested_allocation = 0;  ///< Σ placed tasks' GPU demand ÷ GPU count.
  double committed_allocation = 0;  ///< Σ placed vGPU framebuffer ÷ Σ GPU framebuffer.
  double unallocated_gpus = 0;      ///< (1 − committed_allocation) × GPU count.
  std::size_t arrived_tasks = 0;    ///< Tasks arrived so far.
  std::size_t rejected_tasks = 0;   ///< Of those, rejected.
  double rejected_gpus = 0;         ///< GPU demand of the rejected tasks.
};

/// One run: one policy, one mode, one seed.
struct OpenbRun {
  std::string policy;                  ///< Policy name.
  GpuMode mode = GpuMode::equal_size;  ///< Mode.
  std::uint64_t seed = 0;              ///< Seed.
  std::vector<OpenbPoint> points;      ///< One per OpenbOptions::loads.
  double seconds = 0;                  ///< Wall time of the run.
};

/// One row of a report: a policy in a mode at one load, over all seeds.
struct OpenbRow {
  std::string policy;                  ///< Policy name.
  GpuMode mode = GpuMode::equal_size;  ///< Mode.
  double load = 0;                     ///< Arrived load (1.0 = 100%).
  Summary requested_allocation;        ///< See OpenbPoint.
  Summary committed_allocation;        ///< See OpenbPoint.
  Summary unallocated_gpus;            ///< See OpenbPoint.
  Summary rejected_tasks;              ///< See OpenbPoint.
  Summary rejected_gpus;               ///< See OpenbPoint.
  Summary arrived_tasks;               ///< See OpenbPoint.
  std::size_t seeds = 0;               ///< Runs averaged.
};

/// The replay's results and the assumptions behind them.
struct OpenbReport {
  std::vector<OpenbRow> rows;         ///< Policies in the order asked, modes, loads.
  std::vector<OpenbRun> runs;         ///< Every run.
  std::size_t hosts = 0;              ///< Hosts (nodes with GPUs).
  std::size_t gpus = 0;               ///< GPUs.
  std::uint64_t framebuffer_mib = 0;  ///< Σ GPU framebuffer after mapping.
  std::size_t gpu_tasks = 0;          ///< Trace tasks with num_gpu >= 1 (the sampling pool).
  std::size_t cpu_only_tasks = 0;     ///< Trace tasks with num_gpu 0 (skipped).
  std::size_t tasks_with_spec = 0;    ///< GPU tasks with a gpu_spec (honoured).
  std::vector<ModelMapping> mapping;  ///< The mapping used (models present in the node list).
  std::map<std::string, std::size_t> gpus_per_trace_model;  ///< GPU count per trace model.
  std::vector<std::string> notes;                           ///< Assumptions, one sentence each.
  double wall_seconds = 0;                                  ///< Wall time of all runs.
};

/// A prepared replay: the fleet after mapping and one request template per task shape.
/// Build it once with prepare_openb(); run_openb_once() may then be called from several
/// threads at once (it only reads the setup).
class OpenbSetup {
 public:
  /// One host of the fleet.
  struct Host {
    std::string name;                       ///< Node name.
    std::shared_ptr<const GpuModel> model;  ///< Catalog model of its GPUs.
    std::uint32_t gpus = 0;                 ///< Number of GPUs.
  };
  /// A distinct task shape of the trace and its request.
  struct Shape {
    Request request;          ///< What the engine is asked.
    double demand = 0;        ///< GPU demand (num_gpu × gpu_milli / 1000).
    std::uint32_t milli = 0;  ///< gpu_milli.
  };

  std::vector<Host> hosts;            ///< The fleet, in node-list order.
  std::vector<Shape> shapes;          ///< Distinct task shapes.
  std::vector<std::uint32_t> pool;    ///< Shape index of each GPU task, in trace order.
  std::size_t gpus = 0;               ///< GPU count.
  std::uint64_t framebuffer_mib = 0;  ///< Σ GPU framebuffer.
  std::vector<std::pair<vgpu::Shape, double>> popularity;  ///< Trace's target workload.
  OpenbOptions options;                                    ///< The options it was prepared with.
};

/// Maps the fleet and the tasks: fails when a node's model has no mapping, a mapped name is
/// not in @p catalog, a mapped model has no whole-GPU type of the requested series (a task
/// could then not be expressed), or a gpu_spec names a model no node has.
inline Result<OpenbSetup> prepare_openb(const std::vector<OpenbNode>& nodes,
                                        const std::vector<OpenbTask>& tasks,
                                        const TypeCatalog& catalog, const OpenbOptions& options) {
  OpenbSetup s;
  s.options = options;
  std::map<std::string, std::shared_ptr<const GpuModel>> resolved;
  auto resolve = [&](const std::string& trace,
                     const std::string& where) -> Result<std::shared_ptr<const GpuModel>> {
    if (auto it = resolved.find(trace); it != resolved.end()) return it->second;
    auto m = std::find_if(options.mapping.begin(), options.mapping.end(),
                          [&](const ModelMapping& mm) { return mm.trace_model == trace; });
    if (m == options.mapping.end())
      return fail(Errc::invalid_argument,
                  where + ": GPU model \"" + trace +
                      "\" has no catalog model mapped to it; map it (vgpuctl simulate: --map " +
                      trace + "=MODEL; `vgpuctl types --all` lists the models)");
    auto model = catalog.find_model(m->catalog_model);
    if (!model)
      return fail(Errc::invalid_argument, "model mapping " + trace + "=" + m->catalog_model + ": " +
                                              model.error().message());
    const auto& md = **model;
    const bool whole = std::any_of(md.types.begin(), md.types.end(), [&](const VgpuType& t) {
      return t.series == options.series && !t.is_mig_backed() && !t.deprecated &&
             t.framebuffer >= md.framebuffer;
    });
    if (!whole)
      return fail(Errc::invalid_argument,
                  "model mapping " + trace + "=" + m->catalog_model + ": " + md.name +
                      " has no whole-GPU " + to_string(options.series) +
                      "-series type, so whole-GPU tasks could not run on it; map " + trace +
                      " to a model with compute (C) types");
    resolved.emplace(trace, *model);
    return *model;
  };
  for (const auto& n : nodes) {
    auto model = resolve(n.model, "node list line " + std::to_string(n.line) + " (" + n.name + ")");
    if (!model) return model.error();
    s.hosts.push_back(OpenbSetup::Host{n.name, *model, n.gpus});
    s.gpus += n.gpus;
    s.framebuffer_mib += (*model)->framebuffer.in_mib() * n.gpus;
  }
  // Which catalog models each trace model became, and which trace models share one.
  std::map<std::string, std::string> catalog_of;
  for (const auto& [trace, model] : resolved)
    catalog_of[trace] = model->name;
  std::map<std::string, std::uint32_t> shape_index;
  std::map<vgpu::Shape, double> weights;
  for (const auto& t : tasks) {
    if (t.num_gpu == 0) continue;
    std::string key = std::to_string(t.num_gpu) + "/" + std::to_string(t.gpu_milli) + "/";
    std::vector<std::string> spec = t.gpu_spec;
    std::sort(spec.begin(), spec.end());
    spec.erase(std::unique(spec.begin(), spec.end()), spec.end());
    for (const auto& m : spec)
      key += m + "|";
    auto [it, added] = shape_index.emplace(key, static_cast<std::uint32_t>(s.shapes.size()));
    if (added) {
      TypeRequirement need;
      need.series = options.series;
      Request r = Request::needing(need, t.num_gpu);
      r.gpu_milli = t.gpu_milli;
      if (!spec.empty()) {
        // The catalog models the spec allows; when every trace model behind them is in the
        // spec, a model restriction is enough, else list the allowed GPUs.
        std::vector<std::string> models;
        for (const auto& m : spec) {
          if (!catalog_of.count(m))
            return fail(Errc::invalid_argument,
                        "task " + t.name + " (line " + std::to_string(t.line) +
                            "): gpu_spec names \"" + m +
                            "\", a GPU model no node of the node list has; check the node "
                            "list matches the pod list");
          models.push_back(catalog_of[m]);
        }
        std::sort(models.begin(), models.end());
        models.erase(std::unique(models.begin(), models.end()), models.end());
        bool whole_models = true;
        for (const auto& [trace, cat] : catalog_of)
          if (std::find(models.begin(), models.end(), cat) != models.end() &&
              std::find(spec.begin(), spec.end(), trace) == spec.end())
            whole_models = false;
        if (models.size() == 1 && whole_models) {
          r.requirement.model = models.front();
        } else {
          GpuIndex g = 0;
          for (const auto& n : nodes)
            for (std::uint32_t i = 0; i < n.gpus; ++i, ++g)
              if (std::find(spec.begin(), spec.end(), n.model) != spec.end())
                r.constraints.allowed.push_back(g);
        }
      }
      s.shapes.push_back(OpenbSetup::Shape{std::move(r), t.gpu_demand(), t.gpu_milli});
    }
    s.pool.push_back(it->second);
    weights[vgpu::Shape{options.series, Bytes{}, false, t.gpu_milli}] += t.num_gpu;
  }
  if (s.pool.empty())
    return fail(Errc::invalid_argument,
                "the pod list has no GPU tasks (all have num_gpu 0); nothing to place");
  for (const auto& [shape, w] : weights)
    s.popularity.emplace_back(shape, w);
  return s;
}

/// One run of the replay: @p policy in @p mode with @p seed. Thread-safe for distinct calls.
inline Result<OpenbRun> run_openb_once(const OpenbSetup& setup, std::string_view policy,
                                       GpuMode mode, std::uint64_t seed) {
  const auto started = std::chrono::steady_clock::now();
  PolicyOptions po;
  po.seed = seed;
  if (setup.options.target_workload_from_trace) {
    po.popularity = setup.popularity;
    po.learn = false;
  }
  auto made = make_policy(policy, po);
  if (!made) return made.error();
  PlacementEngine engine(*made);
  for (const auto& h : setup.hosts) {
    const auto host = engine.add_host(h.name);
    const GpuMode m =
        mode == GpuMode::mixed_size && h.model->mixed_size_capable ? mode : GpuMode::equal_size;
    for (std::uint32_t i = 0; i < h.gpus; ++i) {
      auto address = PciAddress::from_parts(0, static_cast<std::uint8_t>(0x10 + i), 0, 0);
      if (!address) return address.error();
      auto added = engine.add_gpu(PhysicalGpu{*address, h.model, m, {}, {}}, host);
      if (!added) return added.error();
    }
  }
  OpenbRun run;
  run.policy = std::string(policy);
  run.mode = mode;
  run.seed = seed;
  std::vector<double> loads = setup.options.loads;
  std::sort(loads.begin(), loads.end());
  const double gpus = static_cast<double>(setup.gpus);
  const double end_load = loads.empty() ? 1.3 : loads.back();
  Random rng(seed);
  double arrived = 0, placed_demand = 0, rejected_demand = 0;
  std::uint64_t placed_mib = 0, next_uuid = 0;
  std::size_t arrived_tasks = 0, rejected_tasks = 0, next_point = 0;
  std::vector<Uuid> uuids;
  while (arrived < end_load * gpus) {
    const auto shape_index = setup.pool[rng.index(setup.pool.size())];
    const auto& shape = setup.shapes[shape_index];
    arrived += shape.demand;
    ++arrived_tasks;
    uuids.clear();
    for (std::uint32_t i = 0; i < shape.request.count; ++i)
      uuids.push_back(simulation_uuid(next_uuid++));
    auto placed = engine.place(shape.request, uuids);
    if (!placed && placed.error().code() != Errc::no_capacity)
      return placed.error().with_context("task shape " + std::to_string(shape_index));
    if (placed) {
      for (const auto& [uuid, p] : *placed)
        placed_mib += p.type.type->framebuffer.in_mib();
      placed_demand += shape.demand;
    } else {
      ++rejected_tasks;
      rejected_demand += shape.demand;
    }
    while (next_point < loads.size() && arrived >= loads[next_point] * gpus) {
      OpenbPoint p;
      p.load = loads[next_point];
      p.requested_allocation = placed_demand / gpus;
      p.committed_allocation =
          static_cast<double>(placed_mib) / static_cast<double>(setup.framebuffer_mib);
      p.unallocated_gpus = (1 - p.committed_allocation) * gpus;
      p.arrived_tasks = arrived_tasks;
      p.rejected_tasks = rejected_tasks;
      p.rejected_gpus = rejected_demand;
      run.points.push_back(p);
      ++next_point;
    }
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return run;
}

/// The notes that go with a report of @p setup (assumptions, one sentence each).
inline std::vector<std::string> openb_notes(const OpenbSetup& setup,
                                            const std::vector<ModelMapping>& used,
                                            std::size_t cpu_only) {
  std::vector<std::string> notes;
  for (const auto& m : used)
    notes.push_back("trace model " + m.trace_model + " -> catalog model " + m.catalog_model + " (" +
                    m.reason + ")");
  notes.push_back(
      "tasks ask for " + to_string(setup.options.series) +
      "-series (compute) vGPUs: the smallest type holding gpu_milli/1000 of the GPU model's "
      "framebuffer; num_gpu > 1 is all-or-nothing on distinct GPUs of one host");
  notes.push_back(std::to_string(cpu_only) +
                  " CPU-only tasks (num_gpu 0) were skipped: they ask nothing of a GPU; host CPU "
                  "and memory are not modelled");
  notes.push_back(
      "FGD's method: GPU tasks sampled with replacement until the requested GPU "
      "reaches the last load point; tasks never leave; seeds " +
      std::to_string(setup.options.first_seed) + ".." +
      std::to_string(setup.options.first_seed + setup.options.seeds - 1));
  std::string mixed, equal;
  std::vector<const GpuModel*> seen;
  for (const auto& h : setup.hosts) {
    if (std::find(seen.begin(), seen.end(), h.model.get()) != seen.end()) continue;
    seen.push_back(h.model.get());
    auto& list = h.model->mixed_size_capable ? mixed : equal;
    list += (list.empty() ? "" : ", ") + h.model->name;
  }
  notes.push_back("mixed-size mode switches " + (mixed.empty() ? "no model" : mixed) +
                  " to mixed-size; " + (equal.empty() ? "none" : equal) +
                  " cannot and stay equal-size");
  notes.push_back(setup.options.target_workload_from_trace
                      ? "fragmentation-aware is given the trace's GPU task mix as its target "
                        "workload, as FGD is"
                      : "fragmentation-aware learns its target workload from the arrivals");
  notes.push_back(
      "gpu_spec, where present, restricts a task to the catalog models of the "
      "named trace models");
  return notes;
}

/// Runs the replay: every policy in every mode for every seed (in parallel over
/// options.threads), and summarises the runs per policy, mode and load.
inline Result<OpenbReport> run_openb(const std::vector<OpenbNode>& nodes,
                                     const std::vector<OpenbTask>& tasks,
                                     const TypeCatalog& catalog, const OpenbOptions& options) {
  if (options.seeds == 0) return fail(Errc::invalid_argument, "seeds must be at least 1");
  if (options.modes.empty()) return fail(Errc::invalid_argument, "give at least one mode");
  for (double l : options.loads)
    if (!(l > 0 && l <= 10)) return fail(Errc::invalid_argument, "load points must be in (0, 10]");
  auto chosen = policies_to_run(options.policies);
  if (!chosen) return chosen.error();
  const std::vector<std::string>& policies = *chosen;
  for (GpuMode m : options.modes)
    if (m == GpuMode::mig)
      return fail(Errc::invalid_argument, "the replay runs in equal-size or mixed-size mode");
  auto setup = prepare_openb(nodes, tasks, catalog, options);
  if (!setup) return setup.error();

  OpenbReport report;
  report.hosts = setup->hosts.size();
  report.gpus = setup->gpus;
  report.framebuffer_mib = setup->framebuffer_mib;
  report.gpu_tasks = setup->pool.size();
  for (const auto& t : tasks) {
    if (t.num_gpu == 0) ++report.cpu_only_tasks;
    if (t.num_gpu > 0 && !t.gpu_spec.empty()) ++report.tasks_with_spec;
  }
  for (const auto& n : nodes)
    report.gpus_per_trace_model[n.model] += n.gpus;
  for (const auto& m : options.mapping)
    if (report.gpus_per_trace_model.count(m.trace_model)) report.mapping.push_back(m);
  report.notes = openb_notes(*setup, report.mapping, report.cpu_only_tasks);

  const std::size_t per_policy = options.modes.size() * options.seeds;
  const std::size_t count = policies.size() * per_policy;
  auto runs = run_all<OpenbRun>(
      count, options.threads,
      [&](std::size_t i) {
        const auto& policy = policies[i / per_policy];
        const GpuMode mode = options.modes[(i % per_policy) / options.seeds];
        const std::uint64_t seed = options.first_seed + i % options.seeds;
        return run_openb_once(*setup, policy, mode, seed);
      },
      options.progress, report.wall_seconds);
  if (!runs) return runs.error();
  report.runs = std::move(*runs);
  std::vector<double> loads = options.loads;
  std::sort(loads.begin(), loads.end());
  for (std::size_t p = 0; p < policies.size(); ++p)
    for (std::size_t m = 0; m < options.modes.size(); ++m)
      for (std::size_t l = 0; l < loads.size(); ++l) {
        OpenbRow row;
        row.policy = policies[p];
        row.mode = options.modes[m];
        row.load = loads[l];
        // This row's seeds, at load point l.
        auto over_seeds = [&](auto value) {
          return summarize_by(report.runs, p * per_policy + m * options.seeds, options.seeds,
                              [&](const OpenbRun& run) { return value(run.points[l]); });
        };
        row.requested_allocation =
            over_seeds([](const auto& pt) { return pt.requested_allocation; });
        row.committed_allocation =
            over_seeds([](const auto& pt) { return pt.committed_allocation; });
        row.unallocated_gpus = over_seeds([](const auto& pt) { return pt.unallocated_gpus; });
        row.rejected_tasks = over_seeds([](const auto& pt) { return pt.rejected_tasks; });
        row.rejected_gpus = over_seeds([](const auto& pt) { return pt.rejected_gpus; });
        row.arrived_tasks = over_seeds([](const auto& pt) { return pt.arrived_tasks; });
        row.seeds = options.seeds;
        report.rows.push_back(std::move(row));
      }
  return report;
}

}  // namespace vgpu::sim
