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

#include "table.hpp"
#include "vgpu/catalog_io.hpp"
#include "vgpu/host.hpp"
#include "vgpu/placement/first_fit.hpp"
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
  std::vector<std::string> catalogs;
  bool replace_catalog = false;
  bool json = false;
};

// Everything a command works on: the catalog, the host's backend and per-GPU occupancy.
struct Session {
  vgpu::TypeCatalog catalog;
  std::unique_ptr<vgpu::sys::Backend> backend;
  std::vector<vgpu::GpuOccupancy> gpus;
  std::vector<vgpu::VgpuInstance> instances;

  vgpu::GpuOccupancy* find_gpu(const vgpu::PciAddress& a) {
    for (auto& g : gpus)
      if (g.gpu().address == a) return &g;
    return nullptr;
  }
};

vgpu::Result<Session> open_session(const Options& o) {
  Session s{vgpu::builtin_catalog(), nullptr, {}, {}};
  for (const auto& path : o.catalogs) {
    auto ok = vgpu::load_catalog_path(
        s.catalog, path,
        o.replace_catalog ? vgpu::OnDuplicate::replace : vgpu::OnDuplicate::refuse);
    if (!ok) return ok.error();
  }
  vgpu::HostDescription host;
  if (o.host_file.empty()) {
    auto builtin = vgpu::default_host(s.catalog);
    if (!builtin) return builtin.error();
    host = std::move(*builtin);
  } else {
    auto loaded = vgpu::load_host_description(o.host_file, s.catalog);
    if (!loaded) return loaded.error();
    host = std::move(*loaded);
  }
  auto backend = vgpu::sys::make_simulated_backend(std::move(host));
  if (!backend) return backend.error();
  s.backend = std::move(*backend);
  if (auto ok = vgpu::sys::check_interface_version(*s.backend); !ok) return ok.error();
  auto gpus = s.backend->gpus();
  if (!gpus) return gpus.error();
  for (const auto& g : *gpus)
    s.gpus.emplace_back(g);
  auto instances = s.backend->instances();
  if (!instances) return instances.error();
  s.instances = std::move(*instances);
  for (const auto& v : s.instances) {
    auto* g = s.find_gpu(v.gpu);
    const vgpu::VgpuType* t = g ? g->gpu().model->find_type(v.type_name) : nullptr;
    if (!t)
      return vgpu::fail(vgpu::Errc::internal, "backend reports vGPU " + v.uuid.to_string() +
                                                  " on an unknown GPU or type");
    if (auto ok = g->add(v.uuid, *t, v.placement); !ok) return ok.error();
  }
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

json instance_json(const vgpu::VgpuInstance& v) {
  json j = {{"uuid", v.uuid.to_string()},
            {"type", v.type_name},
            {"gpu", v.gpu.to_string()},
            {"placement", v.placement}};
  if (!v.owner.empty()) j["owner"] = v.owner;
  return j;
}

void print_gpus(const Session& s, bool as_json) {
  if (as_json) {
    json out = json::array();
    for (const auto& g : s.gpus) {
      json j = {{"address", g.gpu().address.to_string()},
                {"model", g.gpu().model->name},
                {"mode", std::string(vgpu::to_string(g.gpu().mode))},
                {"framebuffer_mib", g.gpu().model->framebuffer.in_mib()},
                {"used_mib", g.used_framebuffer().in_mib()},
                {"vgpus", g.occupants().size()}};
      if (g.gpu().numa_node) j["numa_node"] = *g.gpu().numa_node;
      out.push_back(std::move(j));
    }
    print_json(out);
    return;
  }
  vgpuctl::Table t({"ADDRESS", "MODEL", "MODE", "FRAMEBUFFER", "USED", "VGPUS", "TYPES"});
  for (const auto& g : s.gpus) {
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
    auto a = vgpu::PciAddress::parse(gpu_text);
    if (!a) return report(a.error().with_context("--gpu"));
    auto* g = s.find_gpu(*a);
    if (!g)
      return report(vgpu::fail(
          vgpu::Errc::not_found,
          "--gpu: no GPU " + a->to_string() + " on this host (`vgpuctl gpus` lists them)"));
    targets.push_back(g);
  } else {
    for (const auto& g : s.gpus)
      targets.push_back(&g);
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
    for (const auto& m : s.catalog.models())
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

struct CreateArgs {
  std::vector<std::string> types;
  std::vector<unsigned> counts;
  std::string gpu;
  std::string uuid;
  std::optional<unsigned> placement;
  std::string owner;
  bool save = false;
};

vgpu::Result<void> save_if_asked(Session& s, const Options& o, bool save) {
  if (!save) return {};
  vgpu::HostDescription host;
  auto gpus = s.backend->gpus();
  if (!gpus) return gpus.error();
  auto instances = s.backend->instances();
  if (!instances) return instances.error();
  host.gpus = std::move(*gpus);
  host.vgpus = std::move(*instances);
  return vgpu::save_host_description(host, o.host_file);
}

int cmd_create(Session& s, const Options& o, const CreateArgs& a) {
  if (a.counts.size() > 1 && a.counts.size() != a.types.size())
    return report(
        vgpu::fail(vgpu::Errc::invalid_argument,
                   fmt::format("--count was given {} times for {} --type options; give it once "
                               "(applies to every type) or once per --type",
                               a.counts.size(), a.types.size())));
  std::vector<vgpu::TypeRef> requests;
  for (std::size_t i = 0; i < a.types.size(); ++i) {
    auto type = s.catalog.find_type(a.types[i]);
    if (!type) return report(type.error().with_context("--type"));
    const unsigned n = a.counts.empty() ? 1 : (a.counts.size() == 1 ? a.counts[0] : a.counts[i]);
    if (n == 0 || n > 4096)
      return report(vgpu::fail(vgpu::Errc::invalid_argument, "--count must be 1 to 4096"));
    for (unsigned k = 0; k < n; ++k)
      requests.push_back(*type);
  }
  if ((!a.uuid.empty() || a.placement) && requests.size() != 1)
    return report(vgpu::fail(
        vgpu::Errc::invalid_argument,
        "--uuid and --placement name one vGPU; use them with a single --type and no --count"));
  vgpu::PlacementConstraints constraints;
  if (!a.gpu.empty()) {
    auto addr = vgpu::PciAddress::parse(a.gpu);
    if (!addr) return report(addr.error().with_context("--gpu"));
    if (!s.find_gpu(*addr))
      return report(vgpu::fail(
          vgpu::Errc::not_found,
          "--gpu: no GPU " + addr->to_string() + " on this host (`vgpuctl gpus` lists them)"));
    constraints.gpu = *addr;
  }
  if (a.placement) constraints.placement = *a.placement;
  std::optional<vgpu::Uuid> fixed_uuid;
  if (!a.uuid.empty()) {
    auto u = vgpu::Uuid::parse(a.uuid);
    if (!u) return report(u.error().with_context("--uuid"));
    fixed_uuid = *u;
  }
  if (a.save && o.host_file.empty())
    return report(vgpu::fail(vgpu::Errc::invalid_argument,
                             "--save writes the --host file back; give --host FILE"));

  std::vector<vgpu::VgpuInstance> created;
  auto roll_back = [&] {
    for (const auto& v : created) {
      (void)s.backend->destroy(v.uuid);
      (void)s.find_gpu(v.gpu)->remove(v.uuid);
    }
  };
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& type = requests[i];
    auto decision = vgpu::first_fit(s.gpus, type, constraints);
    vgpu::Result<vgpu::VgpuInstance> made =
        decision ? s.backend->create({fixed_uuid.value_or(vgpu::Uuid::generate()), decision->gpu,
                                      type.type->name, decision->placement, a.owner})
                 : vgpu::Result<vgpu::VgpuInstance>(decision.error());
    if (!made) {
      roll_back();
      std::string what = requests.size() == 1 ? ""
                                              : fmt::format("request {} of {} ({}): ", i + 1,
                                                            requests.size(), type.type->name);
      if (!created.empty())
        what +=
            fmt::format("(the {} vGPU(s) created before it were destroyed again) ", created.size());
      return report(vgpu::Error(made.error().code(), what + made.error().message()));
    }
    (void)vgpu::commit(s.gpus, *decision, made->uuid);
    created.push_back(*made);
  }
  if (auto ok = save_if_asked(s, o, a.save); !ok) {
    roll_back();
    return report(ok.error());
  }
  if (o.json) {
    json out = json::array();
    for (const auto& v : created)
      out.push_back(instance_json(v));
    print_json(json{{"created", out}});
    return exit_ok;
  }
  vgpuctl::Table t({"UUID", "TYPE", "GPU", "PLACEMENT"});
  for (const auto& v : created)
    t.add({v.uuid.to_string(), v.type_name, v.gpu.to_string(), std::to_string(v.placement)});
  std::printf("created %zu vGPU(s):\n", created.size());
  t.print(stdout);
  std::printf("\n");
  print_gpus(s, false);
  if (o.host_file.empty())
    std::printf(
        "\n(built-in simulated host: state lasts this invocation; use --host FILE --save to keep "
        "it)\n");
  return exit_ok;
}

int cmd_destroy(Session& s, const Options& o, const std::string& uuid_text, bool save) {
  auto uuid = vgpu::Uuid::parse(uuid_text);
  if (!uuid) return report(uuid.error());
  if (save && o.host_file.empty())
    return report(vgpu::fail(vgpu::Errc::invalid_argument,
                             "--save writes the --host file back; give --host FILE"));
  if (auto ok = s.backend->destroy(*uuid); !ok) return report(ok.error());
  if (auto ok = save_if_asked(s, o, save); !ok) return report(ok.error());
  if (o.json)
    print_json(json{{"destroyed", uuid->to_string()}});
  else
    std::printf("destroyed %s\n", uuid->to_string().c_str());
  return exit_ok;
}

int cmd_list(Session& s, const Options& o) {
  if (o.json) {
    json out = json::array();
    for (const auto& v : s.instances)
      out.push_back(instance_json(v));
    print_json(out);
    return exit_ok;
  }
  if (s.instances.empty()) {
    std::printf("no vGPUs\n");
    return exit_ok;
  }
  vgpuctl::Table t({"UUID", "TYPE", "GPU", "PLACEMENT", "OWNER"});
  for (const auto& v : s.instances)
    t.add({v.uuid.to_string(), v.type_name, v.gpu.to_string(), std::to_string(v.placement),
           v.owner.empty() ? "-" : v.owner});
  t.print(stdout);
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vgpuctl: inspect GPUs and create, list and destroy vGPUs.\n"
      "Without --host it works on a built-in simulated host (4x A16, 2x L40S mixed-size, "
      "1x A100 80GB MIG)."};
  app.set_version_flag("--version", std::string("vgpuctl ") + VGPU_VERSION_STRING);
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the command: `vgpuctl gpus --json`
  Options o;
  app.add_option("--host", o.host_file, "Host description JSON (default: built-in simulated host)");
  app.add_option("--catalog", o.catalogs, "Extra catalog file or directory (repeatable)");
  app.add_flag("--replace-catalog", o.replace_catalog,
               "Let --catalog files replace built-in models of the same name");
  app.add_flag("--json", o.json, "Machine-readable JSON output");

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
      app.add_subcommand("create", "Create vGPUs (first GPU that fits, in PCI address order)");
  create_cmd->add_option("--type", ca.types, "vGPU type, e.g. A16-2Q (repeatable)")->required();
  create_cmd->add_option("--count", ca.counts, "How many: once for all types, or once per --type");
  create_cmd->add_option("--gpu", ca.gpu, "Only on this GPU (PCI address)");
  create_cmd->add_option("--uuid", ca.uuid, "UUID for the new vGPU (default: random)");
  create_cmd->add_option("--placement", ca.placement,
                         "Start slot (mixed-size or MIG placement ID)");
  create_cmd->add_option("--owner", ca.owner, "Owner to record, e.g. the VM name");
  create_cmd->add_flag("--save", ca.save, "Write the result back to the --host file");
  std::string destroy_uuid;
  bool destroy_save = false;
  auto* destroy_cmd = app.add_subcommand("destroy", "Destroy a vGPU");
  destroy_cmd->add_option("uuid", destroy_uuid, "The vGPU's UUID")->required();
  destroy_cmd->add_flag("--save", destroy_save, "Write the result back to the --host file");
  auto* list_cmd = app.add_subcommand("list", "List the vGPUs that exist");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_ok : exit_bad_input;
  }
  try {
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
    if (*destroy_cmd) return cmd_destroy(s, o, destroy_uuid, destroy_save);
    if (*list_cmd) return cmd_list(s, o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vgpuctl: internal error: %s (please report this)\n", e.what());
    return exit_internal;
  }
  return exit_internal;
}
