// vgpuctl simulate: placement simulations (openb trace replay after FGD, and online churn on a
// heterogeneous fleet), built on vgpu/sim/*.hpp.
//
// Wiring in main.cpp (two lines):
//   auto simulate = vgpuctl::add_simulate_command(
//       app, vgpuctl::catalog_loader(o.catalogs, o.replace_catalog), o.json);  // before parse
//   if (simulate.given()) return simulate.run();  // after parse, before opening a session
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vgpu/catalog.hpp"
#include "vgpu/error.hpp"

namespace vgpuctl {

/// Loads the catalog the simulations use (the built-in one plus --catalog files).
using CatalogLoader = std::function<vgpu::Result<vgpu::TypeCatalog>()>;

/// A loader for the built-in catalog plus the files in @p paths (read when called, so the
/// vectors may be filled by the parser later); @p replace lets them replace built-in models.
CatalogLoader catalog_loader(const std::vector<std::string>& paths, const bool& replace);

/// The `simulate` command, added to an app by add_simulate_command().
class SimulateCommand {
 public:
  struct State;
  explicit SimulateCommand(std::shared_ptr<State> state) : state_(std::move(state)) {}
  /// True when `simulate` was on the command line (call after parsing).
  [[nodiscard]] bool given() const;
  /// Runs it and returns vgpuctl's exit code: 0 done, 2 bad input (flags, files), 3 internal.
  [[nodiscard]] int run() const;

 private:
  std::shared_ptr<State> state_;
};

/// Adds `simulate` (openb replay) and `simulate churn` to @p app. @p json is the global
/// --json flag; it is read when run() is called.
SimulateCommand add_simulate_command(CLI::App& app, CatalogLoader load_catalog, const bool& json);

}  // namespace vgpuctl
