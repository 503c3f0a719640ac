// vgpuctl: inspect a host's GPUs and create, list and destroy vGPUs from a shell.
// Exit codes (docs/vgpuctl.md): 0 success; 1 the request was refused (no capacity, not found,
// busy, conflict, not supported); 2 bad input (flags, host or catalog files); 3 I/O or
// internal error.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "export.hpp"
#include "manpage.hpp"
#include "simulate.hpp"
#include "table.hpp"
#include "vgpu/catalog_io.hpp"
#include "vgpu/host.hpp"
#include "vgpu/host_state.hpp"
#include "vgpu/manager.hpp"
#include "vgpu/placement/batch.hpp"
#include "vgpu/placement/defrag.hpp"
#include "vgpu/placement/engine.hpp"
#include "vgpu/placement/request_file.hpp"
#include "vgpu/sys/backend.hpp"
#include "vgpu/version.hpp"

namespace {

using nlohmann::json;

enum ExitCode { exit_ok = 0, exit_refused = 1, exit_bad_input = 2, exit_internal = 3 };

int exit_code_for(vgpu::Errc code) {
  switch (code) {
    case vgpu::Errc::ok:
      return exit_ok;
    case vgpu::Errc::invalid_argument:
    case vgpu::Errc::version_mismatch:
      return exit_bad_input;
    case vgpu::Errc::io_error:
    case vgpu::Errc::internal:
      return exit_internal;
    default:
      return exit_refused;
  }
}

int report(const vgpu::Error& error) {
  std::fprintf(stderr, "vgpuctl: error: %s\n", error.message().c_str());
  return exit_code_for(error.code());
}

void print_json(const json& j) {
  std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
}

std::string resolution_text(const vgpu::VgpuType& t) {
  return t.max_resolution.pixels() ? t.max_resolution.to_string() : "-";
}

std::string mib(vgpu::Bytes b) {
  return std::to_string(b.in_mib()) + " MiB";
}

struct Options {
  std::string host_file;
  std::string ledger;
  std::vector<std::string> catalogs;
  bool replace_catalog = false;
  bool json = false;
  std::string policy = "fragmentation-aware";
  bool quiet_repairs = false;  // `reconcile` prints the repairs itself
  std::string backend = "sim";
};

// Everything a command works on: the Manager (catalog, backend, ledger) and a snapshot of
// its placement engine, in step with the ledger when the command started, for what-if work
// (explain, plan, defrag) and display.
struct Session {
  std::unique_ptr<vgpu::Manager> manager;
  const vgpu::TypeCatalog* catalog = nullptr;
  vgpu::PlacementEngine engine;

  vgpu::Result<vgpu::GpuIndex> find_gpu(std::string_view text, std::string_view flag) const {
    auto a = vgpu::PciAddress::parse(text);
    if (!a) return a.error().with_context(flag);
    auto g = engine.find_gpu(*a);
    if (!g)
      return vgpu::fail(vgpu::Errc::not_found, std::string(flag) + ": no GPU " + a->to_string() +
                                                   " on this host (`vgpuctl gpus` lists them)");
    return *g;
  }

  // Takes a new snapshot after a command changed the host.
  vgpu::Result<void> refresh() {
    auto e = manager->snapshot();
    if (!e) return e.error();
    engine = std::move(*e);
    return {};
  }
};

vgpu::Result<Session> open_session(const Options& o) {
  if (o.backend != "sim" && !o.host_file.empty())
    return vgpu::fail(vgpu::Errc::invalid_argument,
                      "--host describes a simulated host; it goes with --backend sim only");
  vgpu::ManagerOptions mo;
  mo.backend = o.backend;
  mo.sim_host = o.host_file;
  mo.ledger = o.ledger;
  mo.policy = o.policy;
  mo.replace_catalog = o.replace_catalog;
  for (const auto& c : o.catalogs)
    mo.catalogs.emplace_back(c);
  // Repairs are worth telling an admin about; routine messages are not.
  mo.logger = [quiet = o.quiet_repairs](vgpu::LogLevel level, std::string_view message) {
    if (level < vgpu::LogLevel::warning) return;
    if (quiet && message.rfind("reconcile: ", 0) == 0) return;
    std::fprintf(stderr, "vgpuctl: %.*s\n", static_cast<int>(message.size()), message.data());
  };
  if (auto policy = vgpu::make_policy(o.policy); !policy)
    return policy.error().with_context("--policy");
  auto manager = vgpu::Manager::open(std::move(mo));
  if (!manager) return manager.error();
  auto engine = (*manager)->snapshot();
  if (!engine) return engine.error();
  Session s{std::move(*manager), nullptr, std::move(*engine)};
  s.catalog = &s.manager->catalog();
  return s;
}

json type_json(const vgpu::VgpuType& t) {
  json j = {{"name", t.name},
            {"series", vgpu::to_string(t.series)},
            {"framebuffer_mib", t.framebuffer.in_mib()},
            {"max_heads", t.max_heads},
            {"max_instances", t.max_instances},
            {"max_instances_mixed", t.max_instances_mixed},
            {"placement_size", t.placement_size},
            {"placement_ids", t.placement_ids},
            {"mig_backed", t.is_mig_backed()}};
  if (t.id.value) j["id"] = t.id.value;
  if (t.max_resolution.pixels()) j["max_resolution"] = t.max_resolution.to_string();
  if (t.pixel_budget) j["pixel_budget"] = t.pixel_budget;
  if (t.frame_rate_limit) j["frame_rate_limit"] = t.frame_rate_limit;
  if (t.mig) j["mig_profile"] = t.mig->name;
  if (t.deprecated) j["deprecated"] = true;
  return j;
}

json record_json(const vgpu::VgpuRecord& v) {
  json j = {{"uuid", v.uuid.to_string()},
            {"type", v.type_name},
            {"gpu", v.gpu.to_string()},
            {"placement", v.placement},
            {"state", std::string(vgpu::to_string(v.state))}};
  if (!v.owner.empty()) j["owner"] = v.owner;
  if (v.vm_uuid) j["vm_uuid"] = v.vm_uuid->to_string();
  if (!v.device.empty()) j["device"] = v.device;
  if (v.process.pid != 0 && v.state != vgpu::VgpuState::active) j["pid"] = v.process.pid;
  return j;
}

// The engine's GPUs, in index order (PCI address order on one host).
std::vector<const vgpu::GpuOccupancy*> all_gpus(const Session& s) {
  std::vector<const vgpu::GpuOccupancy*> out;
  for (vgpu::GpuIndex g = 0; g < s.engine.gpu_count(); ++g)
    out.push_back(&s.engine.gpu(g));
  return out;
}

void print_gpus(const Session& s, bool as_json) {
  if (as_json) {
    json out = json::array();
    for (const auto* gp : all_gpus(s)) {
      const auto& g = *gp;
      json j = {{"address", g.gpu().address.to_string()},
                {"model", g.gpu().model->name},
                {"mode", std::string(vgpu::to_string(g.gpu().mode))},
                {"framebuffer_mib", g.gpu().model->framebuffer.in_mib()},
                {"used_mib", g.used_framebuffer().in_mib()},
                {"vgpus", g.occupants().size()}};
      if (g.gpu().numa_node) j["numa_node"] = *g.gpu().numa_node;
      if (!g.gpu().pci_root.empty()) j["pci_root"] = g.gpu().pci_root;
      out.push_back(std::move(j));
    }
    print_json(out);
    return;
  }
  vgpuctl::Table t({"ADDRESS", "MODEL", "MODE", "FRAMEBUFFER", "USED", "VGPUS", "TYPES"});
  for (const auto* gp : all_gpus(s)) {
    const auto& g = *gp;
    std::map<std::string, int> counts;
    for (const auto& o : g.occupants())
      ++counts[o.type->name];
    std::string types;
    for (const auto& [name, n] : counts)
      types += (types.empty() ? "" : ", ") + fmt::format("{}x{}", n, name);
    t.add({g.gpu().address.to_string(), g.gpu().model->name,
           std::string(vgpu::to_string(g.gpu().mode)), mib(g.gpu().model->framebuffer),
           mib(g.used_framebuffer()), std::to_string(g.occupants().size()),
           types.empty() ? "-" : types});
  }
  t.print(stdout);
}

int cmd_types(Session& s, const Options& o, const std::string& gpu_text, bool creatable, bool all) {
  std::vector<const vgpu::GpuOccupancy*> targets;
  if (!gpu_text.empty()) {
    auto g = s.find_gpu(gpu_text, "--gpu");
    if (!g) return report(g.error());
    targets.push_back(&s.engine.gpu(*g));
  } else {
    targets = all_gpus(s);
  }
  json out = json::array();
  vgpuctl::Table table(
      creatable
          ? std::vector<std::string>{"GPU", "TYPE", "FRAMEBUFFER", "HEADS", "MAX-RESOLUTION",
                                     "REMAINING", "FREE-PLACEMENTS"}
          : std::vector<std::string>{"MODEL", "TYPE", "SERIES", "FRAMEBUFFER", "HEADS",
                                     "MAX-RESOLUTION", "MAX-EQUAL", "MAX-MIXED", "MIG-PROFILE"});
  auto add_type_row = [&](const vgpu::GpuModel& m, const vgpu::VgpuType& t) {
    json j = type_json(t);
    j["model"] = m.name;
    out.push_back(std::move(j));
    table.add({m.name, t.name, vgpu::to_string(t.series), mib(t.framebuffer),
               std::to_string(t.max_heads), resolution_text(t), std::to_string(t.max_instances),
               t.max_instances_mixed ? std::to_string(t.max_instances_mixed) : "-",
               t.mig ? t.mig->name : "-"});
  };
  if (creatable) {
    for (const auto* g : targets) {
      for (const auto& t : g->gpu().model->types) {
        auto free = g->free_placements(t);
        if (free.empty()) continue;
        json j = type_json(t);
        j["gpu"] = g->gpu().address.to_string();
        const std::uint32_t remaining = g->remaining(t);  // capped by the per-GPU maximum
        j["remaining"] = remaining;
        j["free_placements"] = free;
        out.push_back(std::move(j));
        std::string places;
        for (auto p : free)
          places += (places.empty() ? "" : " ") + std::to_string(p);
        table.add({g->gpu().address.to_string(), t.name, mib(t.framebuffer),
                   std::to_string(t.max_heads), resolution_text(t), std::to_string(remaining),
                   places});
      }
    }
  } else if (all) {
    for (const auto& m : s.catalog->models())
      for (const auto& t : m->types)
        add_type_row(*m, t);
  } else {
    std::vector<const vgpu::GpuModel*> seen;
    for (const auto* g : targets) {
      const auto* m = g->gpu().model.get();
      if (std::find(seen.begin(), seen.end(), m) != seen.end()) continue;
      seen.push_back(m);
      for (const auto& t : m->types)
        add_type_row(*m, t);
    }
  }
  if (o.json)
    print_json(out);
  else if (table.empty())
    std::printf(creatable ? "no vGPU type can be created there now\n" : "no vGPU types\n");
  else
    table.print(stdout);
  return exit_ok;
}

// What to place, as the create, explain and defrag commands take it on the command line.
struct RequestArgs {
  std::vector<std::string> types;
  std::vector<unsigned> counts;
  std::string min_framebuffer;
  std::optional<unsigned> min_heads;
  std::string min_resolution;
  std::string series;
  std::vector<std::string> gpus;
  std::vector<std::string> deny_gpus;
  std::optional<unsigned> numa_node;
  std::string affinity;
  std::optional<unsigned> placement;
  std::string owner;
};

void add_request_options(CLI::App* cmd, RequestArgs& a, bool many_types) {
  auto* type = cmd->add_option(
      "--type", a.types,
      many_types ? "vGPU type, e.g. A16-2Q (repeatable)" : "vGPU type, e.g. A16-2Q");
  if (!many_types) type->expected(1);
  cmd->add_option("--count", a.counts,
                  many_types ? "How many: once for all types, or once per --type" : "How many");
  cmd->add_option("--min-framebuffer", a.min_framebuffer,
                  "Instead of --type: the smallest type with at least this framebuffer, e.g. 3GiB");
  cmd->add_option("--min-heads", a.min_heads, "With --min-framebuffer: at least this many heads");
  cmd->add_option("--min-resolution", a.min_resolution,
                  "With --min-framebuffer: at least this resolution, e.g. 3840x2160");
  cmd->add_option("--series", a.series, "With --min-framebuffer: only this series (Q, B, A, C)");
  cmd->add_option("--gpu", a.gpus, "Only on these GPUs (PCI address, repeatable)");
  cmd->add_option("--deny-gpu", a.deny_gpus, "Never on these GPUs (PCI address, repeatable)");
  cmd->add_option("--numa-node", a.numa_node, "Only on GPUs of this NUMA node");
  cmd->add_option(
      "--affinity", a.affinity,
      "With --owner: keep the VM's vGPUs on one NUMA node (numa) or PCI root (pci-root)");
  cmd->add_option("--placement", a.placement,
                  "Start slot: a placement ID in mixed-size or MIG mode, a multiple of the type's "
                  "size in equal-size mode");
  cmd->add_option("--owner", a.owner,
                  "The VM: its vGPUs are placed all or nothing, each on its own GPU");
}

// The requests the options describe: with --owner one request per --type (the VM's vGPUs,
// all or nothing, on distinct GPUs); without, one request per vGPU.
vgpu::Result<std::vector<vgpu::Request>> build_requests(const Session& s, const RequestArgs& a) {
  auto bad = [](std::string m) { return vgpu::fail(vgpu::Errc::invalid_argument, std::move(m)); };
  const bool by_need =
      !a.min_framebuffer.empty() || a.min_heads || !a.min_resolution.empty() || !a.series.empty();
  if (a.types.empty() && !by_need)
    return bad(
        "say what to place: --type TYPE, or --min-framebuffer SIZE (with --min-heads, "
        "--min-resolution, --series)");
  if (!a.types.empty() && by_need)
    return bad(
        "give either --type or --min-framebuffer/--min-heads/--min-resolution/--series, "
        "not both");
  const std::size_t kinds = by_need ? 1 : a.types.size();
  if (a.counts.size() > 1 && a.counts.size() != kinds)
    return bad(
        fmt::format("--count was given {} times for {} --type options; give it once "
                    "(applies to every type) or once per --type",
                    a.counts.size(), kinds));
  vgpu::Constraints c;
  for (const auto& text : a.gpus) {
    auto g = s.find_gpu(text, "--gpu");
    if (!g) return g.error();
    c.allowed.push_back(*g);
  }
  for (const auto& text : a.deny_gpus) {
    auto g = s.find_gpu(text, "--deny-gpu");
    if (!g) return g.error();
    c.denied.push_back(*g);
  }
  c.numa_node = a.numa_node;
  if (a.placement) c.placement = *a.placement;
  if (a.affinity == "numa")
    c.affinity = vgpu::Affinity::numa_node;
  else if (a.affinity == "pci-root")
    c.affinity = vgpu::Affinity::pci_root;
  else if (!a.affinity.empty() && a.affinity != "none")
    return bad("--affinity must be none, numa or pci-root, not " +
               vgpu::detail::quoted(a.affinity));
  if (!a.affinity.empty() && a.owner.empty())
    return bad("--affinity groups one VM's vGPUs; give --owner VM too");
  c.distinct_gpus = true;  // matters only with --owner (a VM's vGPUs) or --count with it

  std::vector<vgpu::Request> out;
  for (std::size_t i = 0; i < kinds; ++i) {
    const unsigned n = a.counts.empty() ? 1 : (a.counts.size() == 1 ? a.counts[0] : a.counts[i]);
    if (n == 0 || n > 4096) return bad("--count must be 1 to 4096");
    vgpu::Request rq;
    if (by_need) {
      if (!a.min_framebuffer.empty()) {
        auto b = vgpu::Bytes::parse(a.min_framebuffer);
        if (!b) return b.error().with_context("--min-framebuffer");
        rq.requirement.min_framebuffer = *b;
      }
      rq.requirement.min_heads = a.min_heads.value_or(0);
      if (!a.min_resolution.empty()) {
        auto r = vgpu::Resolution::parse(a.min_resolution);
        if (!r) return r.error().with_context("--min-resolution");
        rq.requirement.min_resolution = *r;
      }
      if (!a.series.empty()) {
        auto se = vgpu::parse_series(a.series);
        if (!se) return se.error().with_context("--series");
        rq.requirement.series = *se;
      }
    } else {
      auto type = s.catalog->find_type(a.types[i]);
      if (!type) return type.error().with_context("--type");
      rq.type = *type;
    }
    rq.owner = a.owner;
    rq.constraints = c;
    if (!a.owner.empty()) {
      rq.count = n;
      out.push_back(rq);
    } else {
      for (unsigned k = 0; k < n; ++k)
        out.push_back(rq);
    }
  }
  return out;
}

struct CreateArgs {
  RequestArgs request;
  std::string uuid;
};

std::string type_label(const vgpu::Request& rq) {
  if (rq.type) return rq.type->type->name;
  std::string need =
      "framebuffer >= " + std::to_string(rq.requirement.min_framebuffer.in_mib()) + " MiB";
  if (rq.requirement.min_heads) need += ", heads >= " + std::to_string(rq.requirement.min_heads);
  if (rq.requirement.series) need += ", series " + vgpu::to_string(*rq.requirement.series);
  return need;
}

// Destroys @p made again after a later step failed; says so if that fails too.
void roll_back(Session& s, const std::vector<vgpu::VgpuRecord>& made) {
  for (const auto& v : made)
    if (auto ok = s.manager->destroy(v.uuid); !ok)
      std::fprintf(stderr, "vgpuctl: could not destroy %s again: %s\n", v.uuid.to_string().c_str(),
                   ok.error().message().c_str());
}

// Creates the vGPUs of a planned batch item exactly where the plan put them.
vgpu::Result<std::vector<vgpu::VgpuRecord>> create_planned(
    Session& s, const std::vector<std::pair<vgpu::Uuid, vgpu::Placement>>& placed,
    const vgpu::Request& request) {
  std::vector<vgpu::VgpuRecord> made;
  for (const auto& [uuid, where] : placed) {
    vgpu::Request pinned = vgpu::Request::of(where.type, 1);
    pinned.owner = request.owner;
    pinned.constraints.allowed = {where.gpu};
    pinned.constraints.placement = where.placement;
    pinned.constraints.distinct_gpus = false;
    vgpu::CreateOptions co;
    co.uuids = {uuid};
    auto v = s.manager->create(pinned, co);
    if (!v) {
      roll_back(s, made);
      return v.error();
    }
    made.insert(made.end(), v->begin(), v->end());
  }
  return made;
}

int cmd_create(Session& s, const Options& o, const CreateArgs& a) {
  auto requests = build_requests(s, a.request);
  if (!requests) return report(requests.error());
  std::size_t total = 0;
  for (const auto& rq : *requests)
    total += rq.count;
  if ((!a.uuid.empty() || a.request.placement) && total != 1)
    return report(vgpu::fail(
        vgpu::Errc::invalid_argument,
        "--uuid and --placement name one vGPU; use them with a single --type and no --count"));
  std::vector<vgpu::Uuid> fixed;
  if (!a.uuid.empty()) {
    auto u = vgpu::Uuid::parse(a.uuid);
    if (!u) return report(u.error().with_context("--uuid"));
    fixed.push_back(*u);
  }
  std::vector<vgpu::VgpuRecord> created;
  for (std::size_t i = 0; i < requests->size(); ++i) {
    const auto& rq = (*requests)[i];
    vgpu::CreateOptions co;
    co.uuids = fixed;
    auto made = s.manager->create(rq, co);
    if (!made) {
      roll_back(s, created);
      std::string what = requests->size() == 1 ? ""
                                               : fmt::format("request {} of {} ({}): ", i + 1,
                                                             requests->size(), type_label(rq));
      if (!created.empty())
        what +=
            fmt::format("(the {} vGPU(s) created before it were destroyed again) ", created.size());
      return report(vgpu::Error(made.error().code(), what + made.error().message()));
    }
    created.insert(created.end(), made->begin(), made->end());
  }
  if (o.json) {
    json out = json::array();
    for (const auto& v : created)
      out.push_back(record_json(v));
    print_json(json{{"created", out}, {"policy", std::string(s.engine.policy().name())}});
    return exit_ok;
  }
  if (auto ok = s.refresh(); !ok) return report(ok.error());
  vgpuctl::Table t({"UUID", "TYPE", "GPU", "PLACEMENT"});
  for (const auto& v : created)
    t.add({v.uuid.to_string(), v.type_name, v.gpu.to_string(), std::to_string(v.placement)});
  std::printf("created %zu vGPU(s) (policy %s):\n", created.size(),
              std::string(s.engine.policy().name()).c_str());
  t.print(stdout);
  std::printf("\n");
  print_gpus(s, false);
  if (o.host_file.empty())
    std::printf(
        "\n(built-in simulated host: state lasts this invocation; use --host FILE to keep it)\n");
  return exit_ok;
}

json placement_json(const Session& s, const vgpu::Placement& p) {
  return json{{"gpu", s.engine.gpu_name(p.gpu)},
              {"type", p.type.type->name},
              {"placement", p.placement},
              {"score", p.score}};
}

std::string score_text(double v) {
  return fmt::format("{:.6g}", v);
}

int cmd_explain(Session& s, const Options& o, const RequestArgs& a) {
  auto requests = build_requests(s, a);
  if (!requests) return report(requests.error());
  if (requests->size() != 1)
    return report(vgpu::fail(vgpu::Errc::invalid_argument,
                             "explain takes one request: one --type (with --count only together "
                             "with --owner)"));
  const auto& rq = requests->front();
  auto x = s.engine.explain(rq);
  if (o.json) {
    json gpus = json::array();
    for (const auto& v : x.gpus) {
      json j = {{"gpu", s.engine.gpu_name(v.gpu)}, {"eligible", v.eligible}};
      if (v.type) j["type"] = v.type->name;
      if (v.eligible) {
        j["placement"] = v.placement;
        j["score"] = v.score;
      } else {
        j["reason"] = v.reason;
      }
      gpus.push_back(std::move(j));
    }
    json decision;
    if (x.decision) {
      decision = json::array();
      for (const auto& p : *x.decision)
        decision.push_back(placement_json(s, p));
    } else {
      decision = json{{"error", x.decision.error().message()}};
    }
    print_json(json{{"policy", std::string(s.engine.policy().name())},
                    {"request", type_label(rq)},
                    {"count", rq.count},
                    {"decision", decision},
                    {"gpus", gpus}});
  } else {
    std::printf("policy %s, request %u x %s\n", std::string(s.engine.policy().name()).c_str(),
                rq.count, type_label(rq).c_str());
    if (x.decision) {
      for (const auto& p : *x.decision)
        std::printf("decision: %s on GPU %s at placement %u (score %s)\n",
                    p.type.type->name.c_str(), s.engine.gpu_name(p.gpu).c_str(), p.placement,
                    score_text(p.score).c_str());
    } else {
      std::printf("decision: refused\n");
    }
    std::printf("\n");
    vgpuctl::Table t({"GPU", "TYPE", "ELIGIBLE", "PLACEMENT", "SCORE", "REASON"});
    for (const auto& v : x.gpus)
      t.add({s.engine.gpu_name(v.gpu), v.type ? v.type->name : "-", v.eligible ? "yes" : "no",
             v.eligible ? std::to_string(v.placement) : "-", v.eligible ? score_text(v.score) : "-",
             v.eligible ? "" : v.reason});
    t.print(stdout);
    std::printf("\nlowest score wins; ties go to the lowest GPU (docs/policies.md)\n");
  }
  return x.decision ? exit_ok : exit_refused;
}

struct PlanArgs {
  std::string file;
  bool in_order = false;
  bool commit = false;
};

int cmd_plan(Session& s, const Options& o, const PlanArgs& a) {
  auto requests = vgpu::load_requests(a.file, *s.catalog, s.engine);
  if (!requests) {
    // A missing or malformed request file is bad input, like a bad --host file.
    report(requests.error());
    return requests.error().code() == vgpu::Errc::io_error ? exit_internal : exit_bad_input;
  }
  const auto plan = vgpu::plan_batch(s.engine, *requests, {!a.in_order});
  std::size_t created = 0;
  if (a.commit) {
    std::vector<vgpu::VgpuRecord> done;
    for (std::size_t i : plan.order) {
      if (!plan.items[i].result) continue;
      auto made = create_planned(s, *plan.items[i].result, (*requests)[i]);
      if (!made) {
        roll_back(s, done);
        return report(made.error().with_context(
            fmt::format("request {} (the {} vGPU(s) created before it were destroyed again)", i + 1,
                        done.size())));
      }
      done.insert(done.end(), made->begin(), made->end());
    }
    created = done.size();
  }
  if (o.json) {
    json items = json::array();
    for (std::size_t i = 0; i < requests->size(); ++i) {
      json j = {{"request", i + 1},
                {"what", type_label((*requests)[i])},
                {"count", (*requests)[i].count}};
      if (plan.items[i].result) {
        json vgpus = json::array();
        for (const auto& [uuid, p] : *plan.items[i].result) {
          json v = placement_json(s, p);
          v["uuid"] = uuid.to_string();
          vgpus.push_back(std::move(v));
        }
        j["vgpus"] = vgpus;
      } else {
        j["error"] = plan.items[i].result.error().message();
      }
      items.push_back(std::move(j));
    }
    print_json(json{{"policy", std::string(s.engine.policy().name())},
                    {"placed", plan.placed},
                    {"refused", plan.refused},
                    {"committed", a.commit},
                    {"requests", items}});
  } else {
    vgpuctl::Table t({"#", "REQUEST", "RESULT", "GPU", "TYPE", "PLACEMENT"});
    for (std::size_t i = 0; i < requests->size(); ++i) {
      const auto& rq = (*requests)[i];
      const std::string what = fmt::format("{} x {}", rq.count, type_label(rq));
      if (!plan.items[i].result) {
        t.add({std::to_string(i + 1), what, "refused", "-", "-", "-"});
        continue;
      }
      for (const auto& [uuid, p] : *plan.items[i].result)
        t.add({std::to_string(i + 1), what, "placed", s.engine.gpu_name(p.gpu), p.type.type->name,
               std::to_string(p.placement)});
    }
    t.print(stdout);
    std::printf("\n%zu placed, %zu refused (policy %s, %s)\n", plan.placed, plan.refused,
                std::string(s.engine.policy().name()).c_str(),
                a.in_order ? "in file order" : "largest first");
    for (std::size_t i = 0; i < requests->size(); ++i)
      if (!plan.items[i].result)
        std::printf("\nrequest %zu: %s\n", i + 1, plan.items[i].result.error().message().c_str());
    if (a.commit)
      std::printf("\ncreated %zu vGPU(s)\n", created);
    else
      std::printf("\nnothing was created (plan only); add --commit to create them\n");
  }
  return plan.refused ? exit_refused : exit_ok;
}

struct DefragArgs {
  bool plan = false;
  std::size_t budget = 16;
  std::string for_type;
};

int cmd_defrag(Session& s, const Options& o, const DefragArgs& a) {
  if (!a.plan)
    return report(vgpu::fail(vgpu::Errc::invalid_argument,
                             "vgpuctl defrag only plans (give --plan): live migration is the "
                             "hypervisor's job; apply the moves it prints with your VMM"));
  vgpu::DefragOptions opts;
  opts.budget = a.budget;
  if (!a.for_type.empty()) {
    auto t = s.catalog->find_type(a.for_type);
    if (!t) return report(t.error().with_context("--for-type"));
    opts.make_room_for = vgpu::Request::of(*t);
  }
  auto plan = vgpu::plan_defrag(s.engine, opts);
  if (!plan) return report(plan.error());
  auto type_of = [&](const vgpu::Move& m) {
    for (const auto& o2 : s.engine.gpu(m.from).occupants())
      if (o2.uuid == m.uuid) return o2.type->name;
    return std::string("?");
  };
  if (o.json) {
    json moves = json::array();
    for (const auto& m : plan->moves)
      moves.push_back(json{{"uuid", m.uuid.to_string()},
                           {"type", type_of(m)},
                           {"from", s.engine.gpu_name(m.from)},
                           {"to", s.engine.gpu_name(m.to)},
                           {"placement", m.placement}});
    json out = {{"moves", moves}, {"gpus_freed", plan->gpus_freed}, {"budget", a.budget}};
    if (opts.make_room_for) {
      out["for_type"] = opts.make_room_for->type->type->name;
      out["makes_room"] = plan->makes_room;
    }
    print_json(out);
    return exit_ok;
  }
  if (plan->moves.empty()) {
    std::printf(opts.make_room_for ? "%s fits already; no migration needed\n"
                                   : "no migration within the budget frees a GPU%s\n",
                opts.make_room_for ? opts.make_room_for->type->type->name.c_str() : "");
    return exit_ok;
  }
  vgpuctl::Table t({"STEP", "UUID", "TYPE", "FROM", "TO", "PLACEMENT"});
  std::size_t step = 0;
  for (const auto& m : plan->moves)
    t.add({std::to_string(++step), m.uuid.to_string(), type_of(m), s.engine.gpu_name(m.from),
           s.engine.gpu_name(m.to), std::to_string(m.placement)});
  t.print(stdout);
  if (opts.make_room_for)
    std::printf("\n%zu migration(s) make room for %s (plan only: nothing was moved)\n",
                plan->moves.size(), opts.make_room_for->type->type->name.c_str());
  else
    std::printf("\n%zu migration(s) free %zu GPU(s) (plan only: nothing was moved)\n",
                plan->moves.size(), plan->gpus_freed);
  return exit_ok;
}

int cmd_destroy(Session& s, const Options& o, const std::string& uuid_text) {
  auto uuid = vgpu::Uuid::parse(uuid_text);
  if (!uuid) return report(uuid.error());
  if (auto ok = s.manager->destroy(*uuid); !ok) return report(ok.error());
  if (o.json)
    print_json(json{{"destroyed", uuid->to_string()}});
  else
    std::printf("destroyed %s\n", uuid->to_string().c_str());
  return exit_ok;
}

int cmd_list(Session& s, const Options& o) {
  auto records = s.manager->instances();
  if (!records) return report(records.error());
  if (o.json) {
    json out = json::array();
    for (const auto& v : *records)
      out.push_back(record_json(v));
    print_json(out);
    return exit_ok;
  }
  if (records->empty()) {
    std::printf("no vGPUs\n");
    return exit_ok;
  }
  vgpuctl::Table t({"UUID", "TYPE", "GPU", "PLACEMENT", "STATE", "OWNER"});
  for (const auto& v : *records)
    t.add({v.uuid.to_string(), v.type_name, v.gpu.to_string(), std::to_string(v.placement),
           std::string(vgpu::to_string(v.state)), v.owner.empty() ? "-" : v.owner});
  t.print(stdout);
  return exit_ok;
}

int cmd_reconcile(Session& s, const Options& o) {
  // The Manager reconciled when it opened; a second pass shows what is left (normally nothing).
  const auto& first = s.manager->open_reconcile();
  auto again = s.manager->reconcile();
  if (!again) return report(again.error());
  std::vector<vgpu::ReconcileReport::Action> actions = first.actions;
  actions.insert(actions.end(), again->actions.begin(), again->actions.end());
  if (o.json) {
    json out = json::array();
    for (const auto& a : actions)
      out.push_back(json{{"action", std::string(vgpu::to_string(a.kind))},
                         {"uuid", a.uuid.to_string()},
                         {"detail", a.text}});
    print_json(json{{"actions", out},
                    {"in_progress", again->in_progress},
                    {"ledger", s.manager->ledger_path().string()}});
    return exit_ok;
  }
  for (const auto& a : actions)
    std::printf("%s\n", a.text.c_str());
  std::printf(
      "%s%zu repair(s); %zu record(s) in progress by live processes left alone (ledger %s)\n",
      actions.empty() ? "ledger and backend agree: " : "", actions.size(), again->in_progress,
      s.manager->ledger_path().empty() ? "private" : s.manager->ledger_path().c_str());
  return exit_ok;
}

// Prints what apply or restore did; @p stored says whether definitions were written.
void print_apply(const Options& o, const vgpu::ApplyReport& r, bool dry_run, bool stored,
                 const Session& s) {
  if (o.json) {
    auto list = [&](const std::vector<vgpu::VgpuRecord>& v, bool planned) {
      json out = json::array();
      for (const auto& x : v) {
        json j = record_json(x);
        if (planned) j.erase("state");  // a dry run's vGPUs do not exist
        out.push_back(std::move(j));
      }
      return out;
    };
    json doc{{"dry_run", dry_run},
             {"kept", list(r.kept, false)},
             {"created", list(r.created, dry_run)},
             {"destroyed", list(r.destroyed, false)},
             {"extra", list(r.extra, false)}};
    if (stored && !dry_run) doc["definitions"] = s.manager->definitions_path().string();
    print_json(doc);
    return;
  }
  vgpuctl::Table t({"ACTION", "UUID", "TYPE", "GPU", "PLACEMENT", "OWNER"});
  auto rows = [&](const char* what, const std::vector<vgpu::VgpuRecord>& v) {
    for (const auto& x : v)
      t.add({what, x.uuid.to_string(), x.type_name, x.gpu.to_string(), std::to_string(x.placement),
             x.owner.empty() ? "-" : x.owner});
  };
  rows(dry_run ? "would create" : "created", r.created);
  rows(dry_run ? "would destroy" : "destroyed", r.destroyed);
  rows("kept", r.kept);
  rows("extra", r.extra);
  if (!t.empty()) t.print(stdout);
  std::printf("\n%s%zu created, %zu destroyed, %zu kept",
              dry_run ? "dry run (nothing changed): " : "", r.created.size(), r.destroyed.size(),
              r.kept.size());
  if (!r.extra.empty())
    std::printf(", %zu extra vGPU(s) not in the state kept (--prune destroys them)",
                r.extra.size());
  std::printf("\n");
  if (stored && !dry_run && !s.manager->definitions_path().empty())
    std::printf("definitions for `vgpuctl restore`: %s\n", s.manager->definitions_path().c_str());
}

// What `apply` reads: FILE in --format (host-state or nvidia-vgpu-config) and its --config.
struct ApplyArgs {
  std::string file, format = "host-state", config;
  bool prune = false, dry_run = false;
};

int cmd_apply(Session& s, const Options& o, const ApplyArgs& a) {
  auto state = vgpuctl::load_state(*s.manager, a.file, a.format, a.config);
  if (!state) {
    report(state.error());
    return state.error().code() == vgpu::Errc::io_error ? exit_internal : exit_bad_input;
  }
  auto done = s.manager->apply(*state, {a.prune, a.dry_run});
  if (!done) return report(done.error());
  print_apply(o, *done, a.dry_run, true, s);
  return exit_ok;
}

int cmd_restore(Session& s, const Options& o) {
  auto done = s.manager->restore();
  if (!done) return report(done.error());
  print_apply(o, *done, false, false, s);
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vgpuctl: inspect GPUs; place, create, list and destroy vGPUs; plan batches and "
      "defragmentation; simulate placement policies.\n"
      "Without --host it works on a built-in simulated host (4x A16, 2x L40S mixed-size, "
      "1x A100 80GB MIG)."};
  app.set_version_flag("--version", std::string("vgpuctl ") + VGPU_VERSION_STRING);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the command: `vgpuctl gpus --json`
  Options o;
  app.add_option("--host", o.host_file,
                 "Simulated host file (JSON), shared by every process that names it; changes are "
                 "written back (default: built-in simulated host, private to one invocation)");
  app.add_option("--ledger", o.ledger,
                 "Host ledger file (default: $VGPU_LEDGER, else HOST.ledger next to --host)");
  app.add_option("--catalog", o.catalogs, "Extra catalog file or directory (repeatable)");
  app.add_flag("--replace-catalog", o.replace_catalog,
               "Let --catalog files replace built-in models of the same name");
  app.add_flag("--json", o.json, "Machine-readable JSON output");
  app.add_option("--backend", o.backend,
                 "Kernel interface: sim (default: the simulated --host), nvidia-vfio, mdev, "
                 "nouveau or auto; sysfs is read under $VGPU_SYSFS_ROOT (default /)");
  app.add_option("--policy", o.policy,
                 "Placement policy: fragmentation-aware (default), best-fit, depth-first, "
                 "breadth-first, binpack, spread, gpu-packing, gpu-clustering, first-fit, random");

  auto simulate = vgpuctl::add_simulate_command(
      app, vgpuctl::catalog_loader(o.catalogs, o.replace_catalog), o.json);
  auto* gpus_cmd = app.add_subcommand("gpus", "List the host's physical GPUs");
  std::string types_gpu;
  bool creatable = false, all = false;
  auto* types_cmd = app.add_subcommand("types", "List vGPU types");
  types_cmd->add_option("--gpu", types_gpu, "Only this GPU (PCI address)");
  types_cmd->add_flag("--creatable", creatable,
                      "Only types that can be created now, with free placements");
  types_cmd->add_flag("--all", all, "Every type in the catalog, not only the host's GPU models");
  CreateArgs ca;
  auto* create_cmd =
      app.add_subcommand("create", "Create vGPUs where the placement policy (--policy) says");
  add_request_options(create_cmd, ca.request, true);
  create_cmd->add_option("--uuid", ca.uuid, "UUID for the new vGPU (default: random)");
  RequestArgs ea;
  auto* explain_cmd = app.add_subcommand(
      "explain", "Show where a request would go and why each GPU would or would not take it");
  add_request_options(explain_cmd, ea, false);
  PlanArgs pa;
  auto* plan_cmd =
      app.add_subcommand("plan", "Plan a batch of requests from a JSON file (docs/policies.md)");
  plan_cmd->add_option("file", pa.file, "Request file")->required();
  plan_cmd->add_flag("--in-order", pa.in_order, "Plan in file order, not largest first");
  plan_cmd->add_flag("--commit", pa.commit, "Create the placed vGPUs (default: plan only)");
  DefragArgs da;
  auto* defrag_cmd = app.add_subcommand(
      "defrag", "Plan live migrations that free whole GPUs or make room for a type");
  defrag_cmd->add_flag("--plan", da.plan, "Print the plan (the only mode: nothing is moved)");
  defrag_cmd->add_option("--budget", da.budget, "At most this many migrations (default 16)")
      ->check(CLI::Range(1, 100000));
  defrag_cmd->add_option("--for-type", da.for_type,
                         "Make room for one vGPU of this type instead of freeing GPUs");
  std::string destroy_uuid;
  auto* destroy_cmd = app.add_subcommand("destroy", "Destroy a vGPU");
  destroy_cmd->add_option("uuid", destroy_uuid, "The vGPU's UUID")->required();
  auto* list_cmd =
      app.add_subcommand("list", "List the vGPUs the ledger records, with their state");
  auto* reconcile_cmd = app.add_subcommand(
      "reconcile", "Compare the ledger with the backend and repair it (reports what it did)");
  ApplyArgs aa;
  auto* apply_cmd = app.add_subcommand(
      "apply", "Make the host hold the vGPUs a host-state file asks for (idempotent)");
  apply_cmd->add_option("file", aa.file, "Host-state JSON (docs/ledger.md)")->required();
  apply_cmd->add_flag("--prune", aa.prune, "Also destroy vGPUs the file does not name");
  apply_cmd->add_flag("--dry-run", aa.dry_run, "Only show what would change");
  apply_cmd->add_option("--format", aa.format,
                        "host-state (default) or nvidia-vgpu-config (docs/ecosystem.md)");
  apply_cmd->add_option("--config", aa.config,
                        "nvidia-vgpu-config: the config to apply (default \"default\", or the "
                        "only one)");
  auto exporter = vgpuctl::add_export_command(app, o.json);
  auto* restore_cmd = app.add_subcommand(
      "restore", "Re-create the vGPUs the last `apply` defined (after a reboot)");

  // `vgpuctl --man`: the man page, generated from the definition above (docs build step).
  if (argc == 2 && std::string_view(argv[1]) == "--man") {
    std::fputs(vgpuctl::render_man_page(app, VGPU_VERSION_STRING).c_str(), stdout);
    return exit_ok;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_ok : exit_bad_input;
  }
  try {
    if (simulate.given()) return simulate.run();
    o.quiet_repairs = reconcile_cmd->parsed();
    auto session = open_session(o);
    if (!session) {
      // A --host or --catalog file that is missing, malformed or inconsistent is bad input.
      const auto code = session.error().code();
      const bool ours = code == vgpu::Errc::io_error || code == vgpu::Errc::internal;
      report(session.error());
      return ours ? exit_internal : exit_bad_input;
    }
    Session& s = *session;
    if (*gpus_cmd) {
      print_gpus(s, o.json);
      return exit_ok;
    }
    if (*types_cmd) return cmd_types(s, o, types_gpu, creatable, all);
    if (*create_cmd) return cmd_create(s, o, ca);
    if (*explain_cmd) return cmd_explain(s, o, ea);
    if (*plan_cmd) return cmd_plan(s, o, pa);
    if (*defrag_cmd) return cmd_defrag(s, o, da);
    if (*destroy_cmd) return cmd_destroy(s, o, destroy_uuid);
    if (*list_cmd) return cmd_list(s, o);
    if (*reconcile_cmd) return cmd_reconcile(s, o);
    if (*apply_cmd) return cmd_apply(s, o, aa);
    if (exporter.given()) return exporter.run(*s.manager, report);
    if (*restore_cmd) return cmd_restore(s, o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vgpuctl: internal error: %s (please report this)\n", e.what());
    return exit_internal;
  }
  return exit_internal;
}
