// Backends by name: the built-in ones, "auto" detection, and those added at run time.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

#include "backends/mdev/mdev.hpp"
#include "backends/nouveau/nouveau.hpp"
#include "backends/nvidia_vfio/nvidia_vfio.hpp"
#include "backends/sysfs/sysfs.hpp"
#include "vgpu/catalog_io.hpp"
#include "vgpu/sys/backend.hpp"

namespace vgpu::sys {
namespace {

std::filesystem::path from_environment(const std::filesystem::path& given, const char* variable) {
  if (!given.empty()) return given;
  const char* value = std::getenv(variable);
  return value && *value ? std::filesystem::path(value) : std::filesystem::path("/");
}

Result<std::unique_ptr<Backend>> open_simulated(const BackendOptions& o) {
  auto host = o.host_file.empty() ? default_host(*o.catalog)
                                  : load_host_description(o.host_file, *o.catalog);
  if (!host) return host.error();
  return make_simulated_backend(std::move(*host));
}

struct Registry {
  std::mutex mutex;
  std::map<std::string, BackendFactory, std::less<>> factories;

  Registry() {
    factories["nvidia-vfio"] = [](const BackendOptions& o) -> Result<std::unique_ptr<Backend>> {
      return std::unique_ptr<Backend>(std::make_unique<nvidia_vfio::NvidiaVfioBackend>(o));
    };
    factories["mdev"] = [](const BackendOptions& o) -> Result<std::unique_ptr<Backend>> {
      return mdev::make(o);
    };
    factories["nouveau"] = [](const BackendOptions& o) -> Result<std::unique_ptr<Backend>> {
      return nouveau::make(o);
    };
    factories["sim"] = open_simulated;
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

// What "auto" picks, or a not_found error that says what it looked for.
Result<std::string> detect(const BackendOptions& o) {
  const sysfs::Root root(o.sysfs_root);
  if (mdev::host_has_mdev(o)) return std::string("mdev");
  std::vector<std::string> pf_drivers;
  for (const auto& entry : sysfs::list(root.pci_devices())) {
    const auto dir = root.pci_devices() / entry;
    if (nvidia_vfio::looks_like_vgpu_pf(dir))
      pf_drivers.push_back(sysfs::link_name(dir / "driver").value_or(""));
  }
  auto drm = nouveau::enumerate(o.dev_root);
  const bool nouveau_gpus = drm && !drm->empty();
  if (!pf_drivers.empty()) {
    const bool all_nouveau = std::all_of(pf_drivers.begin(), pf_drivers.end(),
                                         [](const std::string& d) { return d == "nouveau"; });
    return std::string(all_nouveau && nouveau_gpus ? "nouveau" : "nvidia-vfio");
  }
  if (nouveau_gpus) return std::string("nouveau");
  return fail(Errc::not_found,
              "no vGPU-capable GPU found: looked for mdev parents in " + root.mdev_bus().string() +
                  ", NVIDIA SR-IOV PFs whose VFs carry nvidia/current_vgpu_type in " +
                  root.pci_devices().string() +
                  ", and NVIDIA GPUs driven by nouveau (libdrm, /dev/dri)" +
                  (drm ? std::string() : " [" + drm.error().message() + "]") +
                  "; on a test machine, try the emulator (docs/backends.md) or --backend sim");
}

}  // namespace

BackendOptions resolve_backend_options(const BackendOptions& options) {
  BackendOptions o = options;
  o.sysfs_root = from_environment(o.sysfs_root, "VGPU_SYSFS_ROOT");
  o.dev_root = from_environment(o.dev_root, "VGPU_DEV_ROOT");
  if (!o.catalog)
    o.catalog = std::shared_ptr<const TypeCatalog>(&builtin_catalog(), [](const TypeCatalog*) {});
  if (o.state_dir.empty()) o.state_dir = o.sysfs_root / "run/vgpu";
  return o;
}

Result<std::unique_ptr<Backend>> open_backend(std::string_view name,
                                              const BackendOptions& options) {
  const BackendOptions o = resolve_backend_options(options);
  std::string chosen(name);
  if (name == "auto") {
    auto detected = detect(o);
    if (!detected) return detected.error();
    chosen = *detected;
  }
  BackendFactory factory;
  {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    if (auto it = r.factories.find(chosen); it != r.factories.end()) factory = it->second;
  }
  if (!factory) {
    std::string names;
    for (const auto& n : backend_names())
      names += (names.empty() ? "" : ", ") + n;
    return fail(Errc::invalid_argument,
                "unknown backend " + detail::quoted(name) + "; valid backends: " + names);
  }
  auto backend = factory(o);
  if (!backend) return backend.error().with_context("backend '" + chosen + "'");
  if (!*backend)
    return fail(Errc::internal, "the factory of backend '" + chosen + "' returned no backend");
  if (auto ok = check_interface_version(**backend); !ok) return ok.error();
  return backend;
}

Result<void> register_backend(std::string name, BackendFactory factory) {
  if (name.empty() || name == "auto")
    return fail(Errc::invalid_argument,
                "a backend needs a name other than " + detail::quoted(name));
  if (!factory)
    return fail(Errc::invalid_argument, "backend " + detail::quoted(name) + " needs a factory");
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  r.factories[std::move(name)] = std::move(factory);
  return {};
}

std::vector<std::string> backend_names() {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> out{"auto"};
  for (const auto& [n, f] : r.factories)
    out.push_back(n);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vgpu::sys
