// vgpuctl simulate: see simulate.hpp.
#include "simulate.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "table.hpp"
#include "vgpu/catalog_io.hpp"
#include "vgpu/sim/churn.hpp"
#include "vgpu/sim/openb.hpp"

namespace vgpuctl {

namespace {

using nlohmann::json;

constexpr int exit_ok = 0, exit_bad_input = 2, exit_internal = 3;

int error(const std::string& message, int code = exit_bad_input) {
  std::fprintf(stderr, "vgpuctl: error: %s\n", message.c_str());
  return code;
}

// A vgpu error from the simulations: input problems are exit 2, our bugs exit 3.
int error(const vgpu::Error& e) {
  const bool ours = e.code() == vgpu::Errc::internal;
  return error(e.message(), ours ? exit_internal : exit_bad_input);
}

void print_json(const json& j) {
  std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
}

std::string mode_name(vgpu::GpuMode m) {
  return std::string(vgpu::describe(m));
}

std::string percent(double v) {
  return fmt::format("{:.2f}%", v * 100);
}

// "\r37/200 runs" on a terminal; nothing otherwise.
std::function<void(std::size_t, std::size_t)> progress_reporter(const char* what) {
  if (!isatty(fileno(stderr))) return {};
  return [what](std::size_t done, std::size_t total) {
    std::fprintf(stderr, "\rvgpuctl simulate: %s: %zu/%zu runs", what, done, total);
    if (done == total) std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  };
}

}  // namespace

struct SimulateCommand::State {
  CLI::App* command = nullptr;
  CLI::App* churn = nullptr;
  CLI::App* app = nullptr;
  CatalogLoader load_catalog;
  const bool* json_flag = nullptr;
  // Options.
  std::string trace, nodes;
  std::optional<std::uint32_t> seeds;
  std::uint64_t first_seed = 42;
  std::string mode = "both";
  std::vector<std::string> policies;
  std::vector<std::string> maps;
  unsigned threads = 0;
  bool churn_flag = false;
  bool learn_target = false;
  std::optional<std::size_t> defrag_budget;
  std::optional<double> defrag_period;
  std::string defrag = "both";
  std::optional<double> load;
  std::optional<double> hours;

  vgpu::Result<std::vector<vgpu::GpuMode>> modes() const {
    if (mode == "both")
      return std::vector<vgpu::GpuMode>{vgpu::GpuMode::equal_size, vgpu::GpuMode::mixed_size};
    auto m = vgpu::parse_gpu_mode(mode);
    if (!m || *m == vgpu::GpuMode::mig)
      return vgpu::fail(vgpu::Errc::invalid_argument,
                        "--mode is \"" + mode + "\"; give equal-size, mixed-size or both");
    return std::vector<vgpu::GpuMode>{*m};
  }

  // --policy of this command, else the global --policy, else every policy (empty list).
  vgpu::Result<std::vector<std::string>> policy_list() const {
    std::vector<std::string> list = policies;
    if (auto* global = app->get_option_no_throw("--policy");
        list.empty() && global && global->count() > 0)
      list = global->results();
    for (const auto& p : list)
      if (auto ok = vgpu::make_policy(p); !ok) return ok.error().with_context("--policy");
    return list;
  }

  int run_openb() const;
  int run_churn() const;
};

CatalogLoader catalog_loader(const std::vector<std::string>& paths, const bool& replace) {
  return [&paths, &replace]() -> vgpu::Result<vgpu::TypeCatalog> {
    vgpu::TypeCatalog catalog = vgpu::builtin_catalog();
    for (const auto& path : paths) {
      auto ok = vgpu::load_catalog_path(
          catalog, path, replace ? vgpu::OnDuplicate::replace : vgpu::OnDuplicate::refuse);
      if (!ok) return ok.error();
    }
    return catalog;
  };
}

bool SimulateCommand::given() const {
  return state_->command->parsed();
}

int SimulateCommand::run() const {
  const State& s = *state_;
  if (s.churn_flag || s.churn->parsed()) return s.run_churn();
  return s.run_openb();
}

int SimulateCommand::State::run_openb() const {
  if (defrag_budget || defrag_period || load || hours || defrag != "both")
    return error(
        "--defrag-budget, --defrag-period, --defrag, --load and --hours belong to the churn "
        "simulation; run `vgpuctl simulate churn ...`");
  if (trace.empty() || nodes.empty())
    return error(
        "simulate needs the openb trace: --trace POD_CSV (e.g. openb_pod_list_default.csv) and "
        "--nodes NODE_CSV (openb_node_list_gpu_node.csv); or run `vgpuctl simulate churn`");
  auto m = modes();
  if (!m) return error(m.error());
  auto chosen = policy_list();
  if (!chosen) return error(chosen.error());
  auto catalog = load_catalog();
  if (!catalog) return error(catalog.error());
  auto node_list = vgpu::sim::load_openb_nodes(nodes);
  if (!node_list) return error(node_list.error().with_context("--nodes"));
  auto task_list = vgpu::sim::load_openb_tasks(trace);
  if (!task_list) return error(task_list.error().with_context("--trace"));
  vgpu::sim::OpenbOptions o;
  o.policies = *chosen;
  o.modes = *m;
  o.seeds = seeds.value_or(10);
  o.first_seed = first_seed;
  o.threads = threads;
  o.target_workload_from_trace = !learn_target;
  auto mapping = vgpu::sim::apply_mapping_overrides(vgpu::sim::openb_default_mapping(), maps);
  if (!mapping) return error(mapping.error().with_context("--map"));
  o.mapping = std::move(*mapping);
  o.progress = progress_reporter("openb replay");
  auto report = vgpu::sim::run_openb(*node_list, *task_list, *catalog, o);
  if (!report) return error(report.error());

  json mapping_json = json::object();
  for (const auto& mm : report->mapping)
    mapping_json[mm.trace_model] = mm.catalog_model;
  if (*json_flag) {
    json out = json::array();
    for (const auto& r : report->rows) {
      out.push_back({{"policy", r.policy},
                     {"mode", mode_name(r.mode)},
                     {"load_pct", static_cast<int>(r.load * 100 + 0.5)},
                     {"requested_allocation", r.requested_allocation.mean},
                     {"requested_allocation_stddev", r.requested_allocation.stddev},
                     {"committed_allocation", r.committed_allocation.mean},
                     {"committed_allocation_stddev", r.committed_allocation.stddev},
                     {"unallocated_gpus", r.unallocated_gpus.mean},
                     {"unallocated_gpus_stddev", r.unallocated_gpus.stddev},
                     {"arrived_tasks", r.arrived_tasks.mean},
                     {"rejected_tasks", r.rejected_tasks.mean},
                     {"rejected_gpus", r.rejected_gpus.mean},
                     {"gpus", report->gpus},
                     {"seeds", r.seeds},
                     {"first_seed", first_seed},
                     {"model_mapping", mapping_json},
                     {"notes", report->notes}});
    }
    print_json(out);
    return exit_ok;
  }
  std::printf(
      "openb replay: %zu hosts, %zu GPUs, %zu GPU tasks (sampled with replacement), %u seeds "
      "from %llu\n\n",
      report->hosts, report->gpus, report->gpu_tasks, o.seeds,
      static_cast<unsigned long long>(first_seed));
  Table t({"POLICY", "MODE", "LOAD", "REQUESTED", "±", "COMMITTED", "UNALLOCATED-GPUS",
           "REJECTED-TASKS"});
  for (const auto& r : report->rows)
    t.add({r.policy, mode_name(r.mode), fmt::format("{:.0f}%", r.load * 100),
           percent(r.requested_allocation.mean), percent(r.requested_allocation.stddev),
           percent(r.committed_allocation.mean), fmt::format("{:.1f}", r.unallocated_gpus.mean),
           fmt::format("{:.0f}", r.rejected_tasks.mean)});
  t.print(stdout);
  std::printf(
      "\nREQUESTED: placed tasks' GPU demand / GPUs (FGD's allocation ratio); COMMITTED: vGPU "
      "framebuffer given out / GPU framebuffer; UNALLOCATED-GPUS: (1 - COMMITTED) x GPUs.\n");
  std::printf("notes:\n");
  for (const auto& n : report->notes)
    std::printf("  - %s\n", n.c_str());
  std::printf("%zu runs in %.1f s\n", report->runs.size(), report->wall_seconds);
  return exit_ok;
}

int SimulateCommand::State::run_churn() const {
  if (!trace.empty() || !nodes.empty() || !maps.empty() || learn_target)
    return error(
        "--trace, --nodes, --map and --learn-target belong to the openb replay; the churn "
        "simulation generates its own workload");
  auto m = modes();
  if (!m) return error(m.error());
  std::vector<bool> with_defrag;
  if (defrag == "both")
    with_defrag = {false, true};
  else if (defrag == "on")
    with_defrag = {true};
  else if (defrag == "off")
    with_defrag = {false};
  else
    return error("--defrag is \"" + defrag + "\"; give on, off or both");
  auto chosen = policy_list();
  if (!chosen) return error(chosen.error());
  auto catalog = load_catalog();
  if (!catalog) return error(catalog.error());
  vgpu::sim::ChurnWorkload w;
  if (defrag_budget) w.defrag_budget = *defrag_budget;
  if (defrag_period) w.defrag_period_minutes = *defrag_period;
  if (load) w.offered_load = *load;
  if (hours) w.hours = *hours;
  vgpu::sim::ChurnOptions o;
  o.policies = *chosen;
  o.modes = *m;
  o.defrag = with_defrag;
  o.seeds = seeds.value_or(5);
  o.first_seed = first_seed;
  o.threads = threads;
  o.progress = progress_reporter("churn");
  auto report = vgpu::sim::run_churn(w, *catalog, o);
  if (!report) return error(report.error());
  if (*json_flag) {
    json out = json::array();
    for (const auto& r : report->rows) {
      out.push_back({{"policy", r.policy},
                     {"mode", mode_name(r.mode)},
                     {"defrag", r.defrag},
                     {"defrag_budget", w.defrag_budget},
                     {"ratio_to_bound", r.ratio.mean},
                     {"ratio_to_bound_stddev", r.ratio.stddev},
                     {"gpus_in_use", r.gpus_in_use.mean},
                     {"lower_bound", r.lower_bound.mean},
                     {"rejection_rate", r.rejection_rate.mean},
                     {"rejection_rate_stddev", r.rejection_rate.stddev},
                     {"migrations_per_day", r.migrations.mean},
                     {"arrivals_per_day", r.arrivals.mean},
                     {"defrag_failures", r.defrag_failures.mean},
                     {"gpus", report->gpus},
                     {"offered_load", w.offered_load},
                     {"seeds", r.seeds},
                     {"first_seed", first_seed},
                     {"notes", report->notes}});
    }
    print_json(out);
    return exit_ok;
  }
  std::printf("churn: %zu GPUs, %u seeds from %llu, offered load %.0f%%\n\n", report->gpus, o.seeds,
              static_cast<unsigned long long>(first_seed), w.offered_load * 100);
  Table t({"POLICY", "MODE", "DEFRAG", "GPUS-IN-USE", "LOWER-BOUND", "RATIO", "±", "REJECTED",
           "MIGRATIONS/DAY"});
  bool failures = false;
  for (const auto& r : report->rows) {
    failures = failures || r.defrag_failures.mean > 0;
    t.add({r.policy, mode_name(r.mode), r.defrag ? fmt::format("budget {}", w.defrag_budget) : "-",
           fmt::format("{:.2f}", r.gpus_in_use.mean), fmt::format("{:.2f}", r.lower_bound.mean),
           fmt::format("{:.4f}", r.ratio.mean), fmt::format("{:.4f}", r.ratio.stddev),
           percent(r.rejection_rate.mean), fmt::format("{:.0f}", r.migrations.mean)});
  }
  t.print(stdout);
  std::printf(
      "\nRATIO: time-average GPUs in use / time-average lower bound; the bound counts each vGPU "
      "on the GPU model it was placed on, so also compare GPUS-IN-USE and REJECTED across "
      "policies.\n");
  if (failures)
    std::printf(
        "warning: some planned migrations were refused when applied (a defragmentation planner "
        "bug); those plans were cut short\n");
  std::printf("notes:\n");
  for (const auto& n : report->notes)
    std::printf("  - %s\n", n.c_str());
  std::printf("%zu runs in %.1f s\n", report->runs.size(), report->wall_seconds);
  return exit_ok;
}

SimulateCommand add_simulate_command(CLI::App& app, CatalogLoader load_catalog, const bool& json) {
  auto state = std::make_shared<SimulateCommand::State>();
  state->app = &app;
  state->load_catalog = std::move(load_catalog);
  state->json_flag = &json;
  auto* cmd = app.add_subcommand(
      "simulate",
      "Compare placement policies in simulation: replay Alibaba's openb GPU trace (FGD's "
      "method), or `simulate churn` for arrivals and departures on a mixed fleet");
  state->command = cmd;
  cmd->require_subcommand(0, 1);
  cmd->add_option("--trace", state->trace, "openb pod list, e.g. openb_pod_list_default.csv");
  cmd->add_option("--nodes", state->nodes, "openb node list, e.g. openb_node_list_gpu_node.csv");
  cmd->add_option("--seeds", state->seeds, "Number of seeds (default 10 for openb, 5 for churn)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--first-seed", state->first_seed, "First seed (default 42, as FGD)");
  cmd->add_option("--mode", state->mode, "equal-size, mixed-size or both (default both)");
  cmd->add_option("--policy", state->policies,
                  "Policy to run (repeatable or comma-separated; default: all)")
      ->delimiter(',');
  cmd->add_option("--map", state->maps,
                  "openb: map a trace GPU model to a catalog model, e.g. --map G2=\"A100 PCIe "
                  "80GB\" (repeatable)");
  cmd->add_flag("--learn-target", state->learn_target,
                "openb: fragmentation-aware learns its target workload instead of taking the "
                "trace's task mix");
  cmd->add_option("--threads", state->threads, "Worker threads (default: one per core)")
      ->check(CLI::Range(0, 256));
  cmd->add_flag("--churn", state->churn_flag, "Same as `simulate churn`");
  cmd->add_option("--defrag", state->defrag, "churn: on, off or both (default both)");
  cmd->add_option("--defrag-budget", state->defrag_budget,
                  "churn: migrations per defragmentation pass (default 16)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--defrag-period", state->defrag_period,
                  "churn: minutes between defragmentation passes (default 5)")
      ->check(CLI::Range(0.1, 1440.0));
  cmd->add_option("--load", state->load,
                  "churn: framebuffer asked for on average / fleet framebuffer (default 0.6)")
      ->check(CLI::Range(0.01, 4.0));
  cmd->add_option("--hours", state->hours, "churn: hours measured (default 24)")
      ->check(CLI::Range(0.1, 24.0 * 365));
  state->churn = cmd->add_subcommand(
      "churn",
      "Online churn on a heterogeneous fleet (A16, L4, L40S): GPUs in use against the lower "
      "bound, rejections, with and without periodic defragmentation");
  return SimulateCommand(state);
}

}  // namespace vgpuctl
