// vgpuctl export: see export.hpp.
#include "export.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "vgpu/formats.hpp"

namespace vgpuctl {

namespace {

namespace fs = std::filesystem;

vgpu::Error bad(std::string message) {
  return vgpu::Error(vgpu::Errc::invalid_argument, std::move(message));
}

// Writes @p text to @p path through a temporary file beside it, so a reader never sees half.
vgpu::Result<void> write_file(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      return vgpu::fail(vgpu::Errc::io_error,
                        "--output: cannot create " + tmp.string() + ": " + std::strerror(errno) +
                            "; check that the directory exists and is writable",
                        errno);
    out << text;
    out.flush();
    if (!out)
      return vgpu::fail(vgpu::Errc::io_error, "--output: cannot write " + tmp.string(), errno);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return vgpu::fail(vgpu::Errc::io_error, "--output: cannot replace " + path.string(),
                      ec.value());
  }
  return {};
}

}  // namespace

struct ExportCommand::State {
  CLI::App* command = nullptr;
  const bool* json_flag = nullptr;
  std::string format, gpu, uuid, output, node, hostdev_form, mdevctl_start, dra_driver, config;
  std::vector<std::string> types;
  bool custom_resource_class = false, compatibility_groups = false;
  std::uint64_t dra_generation = vgpu::formats::ExportOptions{}.dra_generation;

  // Options that belong to one format only, with the formats they belong to.
  [[nodiscard]] vgpu::Result<void> check_options(vgpu::formats::Format f) const {
    using vgpu::formats::Format;
    struct Rule {
      const char* option;
      std::vector<Format> formats;
      const char* for_what;
    };
    const std::vector<Rule> rules = {
        {"--uuid", {Format::libvirt_hostdev, Format::mdevctl}, "libvirt-hostdev and mdevctl"},
        {"--hostdev-form", {Format::libvirt_hostdev}, "libvirt-hostdev"},
        {"--mdevctl-start", {Format::mdevctl}, "mdevctl"},
        {"--type", {Format::placement}, "placement"},
        {"--custom-resource-class", {Format::placement}, "placement"},
        {"--dra-driver", {Format::dra}, "dra"},
        {"--dra-compatibility-groups", {Format::dra}, "dra"},
        {"--dra-generation", {Format::dra}, "dra"},
        {"--config", {Format::nvidia_vgpu_config}, "nvidia-vgpu-config"},
    };
    for (const auto& r : rules) {
      if (command->count(r.option) == 0) continue;
      if (std::find(r.formats.begin(), r.formats.end(), f) == r.formats.end())
        return bad(std::string(r.option) + " belongs to --format " + r.for_what + ", not " +
                   std::string(vgpu::formats::to_string(f)));
    }
    return {};
  }

  [[nodiscard]] vgpu::Result<vgpu::formats::ExportOptions> options() const {
    vgpu::formats::ExportOptions o;
    if (!gpu.empty()) {
      auto a = vgpu::PciAddress::parse(gpu);
      if (!a) return a.error().with_context("--gpu");
      o.gpu = *a;
    }
    if (!uuid.empty()) {
      auto u = vgpu::Uuid::parse(uuid);
      if (!u) return u.error().with_context("--uuid");
      o.uuid = *u;
    }
    if (hostdev_form == "mdev")
      o.hostdev_form = vgpu::formats::HostdevForm::mdev;
    else if (hostdev_form == "pci")
      o.hostdev_form = vgpu::formats::HostdevForm::pci;
    else if (hostdev_form != "auto")
      return bad("--hostdev-form must be auto, mdev or pci, not " +
                 vgpu::detail::quoted(hostdev_form));
    if (mdevctl_start != "auto" && mdevctl_start != "manual")
      return bad("--mdevctl-start must be auto or manual, not " +
                 vgpu::detail::quoted(mdevctl_start));
    o.mdev_autostart = mdevctl_start == "auto";
    o.placement_types = types;
    o.custom_resource_class = custom_resource_class;
    o.dra_driver = dra_driver;
    o.dra_json = *json_flag;
    o.dra_compatibility_groups = compatibility_groups;
    o.dra_generation = dra_generation;
    o.config_name = config;
    return o;
  }
};

bool ExportCommand::given() const {
  return state_->command->parsed();
}

namespace {

// An export that succeeds with nothing in it is right (a script may loop over what is there),
// but at a shell it looks like a failure: a note on stderr says why, and what gives more.
void explain_empty(vgpu::formats::Format format, const std::string& text, bool one_gpu) {
  using vgpu::formats::Format;
  const char* where = one_gpu ? "this GPU" : "this host";
  const bool none_active =
      (format == Format::libvirt_hostdev && text.empty()) ||
      (format == Format::mdevctl && text.find_first_not_of("[] \n") == std::string::npos);
  if (none_active)
    std::fprintf(stderr,
                 "vgpuctl: note: no active vGPU on %s, so nothing to export "
                 "(`vgpuctl list` shows what the ledger holds)\n",
                 where);
  if (format == Format::placement && text.find("\"resource_providers\": []") != std::string::npos)
    std::fprintf(stderr,
                 "vgpuctl: note: no resource provider: no GPU of %s holds vGPUs and --type names "
                 "no type it supports; give the types to offer with --type TYPE\n",
                 where);
}

}  // namespace

int ExportCommand::run(vgpu::Manager& manager, const Reporter& report) const {
  const State& s = *state_;
  // Checked here rather than by CLI11's required(), whose message does not list the formats.
  if (s.format.empty())
    return report(
        bad("--format is required: give one of libvirt-nodedev, libvirt-hostdev, "
            "mdevctl, placement, dra or nvidia-vgpu-config (docs/ecosystem.md)"));
  auto format = vgpu::formats::parse_format(s.format);
  if (!format) return report(format.error().with_context("--format"));
  if (auto ok = s.check_options(*format); !ok) return report(ok.error());
  auto options = s.options();
  if (!options) return report(options.error());
  vgpu::formats::InventoryOptions io;
  io.node = s.node;
  auto inventory = vgpu::formats::collect_inventory(manager, io);
  if (!inventory) return report(inventory.error());
  auto text = vgpu::formats::export_inventory(*inventory, *format, *options);
  if (!text) return report(text.error());
  explain_empty(*format, *text, options->gpu.has_value());
  if (s.output.empty() || s.output == "-") {
    std::fwrite(text->data(), 1, text->size(), stdout);
    return std::fflush(stdout) == 0
               ? 0
               : report(vgpu::fail(vgpu::Errc::io_error, "cannot write to stdout"));
  }
  if (auto ok = write_file(s.output, *text); !ok) return report(ok.error());
  return 0;
}

ExportCommand add_export_command(CLI::App& app, const bool& json) {
  auto state = std::make_shared<ExportCommand::State>();
  state->json_flag = &json;
  auto* cmd = app.add_subcommand(
      "export",
      "Describe the host in another tool's format: libvirt-nodedev, libvirt-hostdev, mdevctl, "
      "placement, dra, nvidia-vgpu-config (docs/ecosystem.md)");
  state->command = cmd;
  auto& s = *state;
  cmd->add_option("--format", s.format,
                  "Required: libvirt-nodedev, libvirt-hostdev, mdevctl, placement, dra or "
                  "nvidia-vgpu-config");
  cmd->add_option("--gpu", s.gpu, "Only this GPU (PCI address)");
  cmd->add_option("--uuid", s.uuid, "Only this vGPU (libvirt-hostdev, mdevctl)");
  cmd->add_option("--output", s.output, "Write to FILE instead of stdout (replaced atomically)");
  cmd->add_option("--node", s.node,
                  "The host's name in Placement and DRA documents (default: the hostname)");
  s.hostdev_form = "auto";
  cmd->add_option("--hostdev-form", s.hostdev_form,
                  "libvirt-hostdev: auto (default: pci for VFs, else mdev), mdev or pci");
  s.mdevctl_start = "auto";
  cmd->add_option("--mdevctl-start", s.mdevctl_start,
                  "mdevctl: start the devices automatically (auto, default) or manually");
  cmd->add_option("--type", s.types,
                  "placement: the type to offer on GPUs without vGPUs (repeatable, in order of "
                  "preference; Nova's enabled_mdev_types)");
  cmd->add_flag("--custom-resource-class", s.custom_resource_class,
                "placement: resource class CUSTOM_VGPU_<TYPE> instead of VGPU");
  s.dra_driver = vgpu::formats::ExportOptions{}.dra_driver;
  cmd->add_option("--dra-driver", s.dra_driver,
                  "dra: the driver name (default " + s.dra_driver + ")");
  cmd->add_flag("--dra-compatibility-groups", s.compatibility_groups,
                "dra: keep one framebuffer size per equal-size GPU with compatibilityGroups "
                "(Kubernetes alpha gate DRADeviceCompatibilityGroups)");
  cmd->add_option("--dra-generation", s.dra_generation,
                  "dra: the pool's generation (default 1); each publication of a changed host "
                  "needs a higher one than the last, e.g. $(date +%s)");
  s.config = "default";
  cmd->add_option("--config", s.config,
                  "nvidia-vgpu-config: the config's name (default \"default\")");
  return ExportCommand(std::move(state));
}

vgpu::Result<vgpu::HostState> load_state(vgpu::Manager& manager, const std::string& file,
                                         const std::string& format, const std::string& config) {
  if (format == "host-state" || format.empty()) {
    if (!config.empty())
      return bad(
          "--config names a config of a vgpu-device-manager file; use it with "
          "--format nvidia-vgpu-config");
    return vgpu::load_host_state(file);
  }
  if (format != "nvidia-vgpu-config")
    return bad("--format " + vgpu::detail::quoted(format) +
               ": apply reads host-state (vgpu's JSON, the default) or nvidia-vgpu-config");
  return vgpu::formats::load_nvidia_vgpu_config(file, manager.gpus(), manager.catalog(), config);
}

}  // namespace vgpuctl
