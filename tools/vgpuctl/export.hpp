// vgpuctl export: the host's inventory in the formats of libvirt, mdevctl, OpenStack
// Placement, Kubernetes DRA and NVIDIA vgpu-device-manager (vgpu/formats.hpp); and reading a
// vgpu-device-manager config for `vgpuctl apply --format nvidia-vgpu-config`.
//
// Wiring in main.cpp:
//   auto exporter = vgpuctl::add_export_command(app, o.json);  // before parse
//   if (exporter.given()) return exporter.run(*s.manager, report);  // with a session
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>

#include "vgpu/error.hpp"
#include "vgpu/host_state.hpp"
#include "vgpu/manager.hpp"

namespace vgpuctl {

/// Reports an error on stderr and returns vgpuctl's exit code for it.
using Reporter = std::function<int(const vgpu::Error&)>;

/// The `export` command, added to an app by add_export_command().
class ExportCommand {
 public:
  struct State;
  explicit ExportCommand(std::shared_ptr<State> state) : state_(std::move(state)) {}
  /// True when `export` was on the command line (call after parsing).
  [[nodiscard]] bool given() const;
  /// Writes the export to stdout or --output; returns vgpuctl's exit code.
  [[nodiscard]] int run(vgpu::Manager& manager, const Reporter& report) const;

 private:
  std::shared_ptr<State> state_;
};

/// Adds `export` to @p app. @p json is the global --json flag (a JSON List for `dra`).
ExportCommand add_export_command(CLI::App& app, const bool& json);

/// Reads a host state for `apply`: @p format "host-state" (vgpu's JSON, the default) or
/// "nvidia-vgpu-config" (config @p config of a vgpu-device-manager file; the GPUs are
/// @p manager's, by index in PCI address order).
vgpu::Result<vgpu::HostState> load_state(vgpu::Manager& manager, const std::string& file,
                                         const std::string& format, const std::string& config);

}  // namespace vgpuctl
