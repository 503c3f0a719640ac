/// @file
/// @brief The backend interface: discovery and vGPU lifecycle against one kernel interface
/// (for people who write backends; applications use the Manager or vgpuctl).
///
/// A backend reports its interface version; the core accepts versions in
/// [min_backend_interface_version, backend_interface_version] (see docs/api-stability.md and
/// docs/backends.md). Backends are opened by name with open_backend(); third parties add theirs
/// with register_backend().
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/catalog.hpp"
#include "vgpu/error.hpp"
#include "vgpu/export.hpp"
#include "vgpu/host.hpp"
#include "vgpu/model/gpu.hpp"
#include "vgpu/placement/occupancy.hpp"

namespace vgpu::sys {

/// The interface version this build of vgpu implements. Version 2 added supported_types(),
/// creatable_types() and gpu_info().
inline constexpr std::uint32_t backend_interface_version = 2;
/// The oldest interface version this build still accepts. Version 2 grew the virtual table, so
/// a backend compiled against version 1 has no slots for the new functions and is refused; its
/// source compiles unchanged against version 2 (every new function has a default).
inline constexpr std::uint32_t min_backend_interface_version = 2;

/// A request to create one vGPU at a decided place.
struct CreateRequest {
  Uuid uuid;                    ///< The new vGPU's UUID (the mdev UUID on mdev hosts).
  PciAddress gpu;               ///< The physical GPU.
  std::string type_name;        ///< Canonical type name (the GPU's model has it).
  std::uint32_t placement = 0;  ///< Start slot the placement engine chose.
  std::string owner;            ///< Owner recorded with the vGPU; may be empty.
};

/// What the kernel says about one physical GPU, beyond the catalog's model.
struct GpuInfo {
  PciAddress address;                     ///< PCI address (the SR-IOV PF, or the mdev parent).
  std::uint16_t vendor_id = 0;            ///< PCI vendor id (0x10de for NVIDIA); 0 if unknown.
  std::uint16_t device_id = 0;            ///< PCI device id; 0 if unknown.
  std::string driver;                     ///< Kernel driver bound to it ("nvidia", "nouveau"...).
  std::string interface;                  ///< The backend's name for how vGPUs are made.
  std::uint32_t sriov_total_vfs = 0;      ///< VFs the device can have (0: no SR-IOV).
  std::uint32_t sriov_num_vfs = 0;        ///< VFs enabled now.
  std::optional<Bytes> framebuffer;       ///< Framebuffer the driver reports, when it does.
  std::optional<Bytes> framebuffer_used;  ///< Framebuffer in use, when the driver reports it.
  std::string render_node;                ///< DRM render node ("/dev/dri/renderD128"), if any.
  std::optional<std::uint32_t> chipset;   ///< Chipset id (nouveau), when reported.
};

/// One kernel interface (simulated, nvidia-vfio sysfs, mdev, nouveau ...).
///
/// Thread safety: a backend object is used by one thread at a time; callers serialise.
/// Several processes may drive the same host: serialising them is the ledger's job.
class Backend {
 public:
  virtual ~Backend() = default;
  /// Short name, e.g. "sim" or "nvidia-vfio".
  [[nodiscard]] virtual std::string_view name() const = 0;
  /// The interface version the backend was written against.
  [[nodiscard]] virtual std::uint32_t interface_version() const {
    return backend_interface_version;
  }
  /// The host's GPUs.
  virtual Result<std::vector<PhysicalGpu>> gpus() = 0;
  /// The vGPUs that exist now.
  virtual Result<std::vector<VgpuInstance>> instances() = 0;
  /// Creates a vGPU; the backend enforces what the hardware enforces and fails otherwise.
  /// The returned instance's `device` is what the VMM is given.
  virtual Result<VgpuInstance> create(const CreateRequest& request) = 0;
  /// Destroys vGPU @p uuid (Errc::not_found if it does not exist).
  virtual Result<void> destroy(const Uuid& uuid) = 0;

  /// Canonical names of the vGPU types GPU @p gpu supports at all. The default lists its
  /// catalog model's types.
  virtual Result<std::vector<std::string>> supported_types(const PciAddress& gpu) {
    auto found = find_gpu(gpu);
    if (!found) return found.error();
    std::vector<std::string> out;
    for (const auto& t : found->model->types)
      out.push_back(t.name);
    return out;
  }

  /// Canonical names of the vGPU types that can be created on @p gpu now. The default
  /// replays instances() on the GPU's model with the hardware rules (GpuOccupancy).
  virtual Result<std::vector<std::string>> creatable_types(const PciAddress& gpu) {
    auto found = find_gpu(gpu);
    if (!found) return found.error();
    auto existing = instances();
    if (!existing) return existing.error();
    GpuOccupancy occupancy(*found);
    for (const auto& v : *existing) {
      if (v.gpu != gpu) continue;
      if (const VgpuType* t = found->model->find_type(v.type_name))
        (void)occupancy.add(v.uuid, *t, v.placement);
    }
    std::vector<std::string> out;
    for (const auto& t : found->model->types)
      if (occupancy.can_create(t)) out.push_back(t.name);
    return out;
  }

  /// What the kernel reports about each GPU. The default derives it from gpus().
  virtual Result<std::vector<GpuInfo>> gpu_info() {
    auto all = gpus();
    if (!all) return all.error();
    std::vector<GpuInfo> out;
    for (const auto& g : *all) {
      GpuInfo info;
      info.address = g.address;
      info.interface = std::string(name());
      if (!g.model->pci_device_ids.empty()) {
        info.vendor_id = 0x10de;
        info.device_id = g.model->pci_device_ids.front();
      }
      info.framebuffer = g.model->framebuffer;
      out.push_back(std::move(info));
    }
    return out;
  }

 private:
  Result<PhysicalGpu> find_gpu(const PciAddress& gpu) {
    auto all = gpus();
    if (!all) return all.error();
    for (auto& g : *all)
      if (g.address == gpu) return std::move(g);
    return fail(Errc::not_found, "no GPU " + gpu.to_string() + " on this host (backend '" +
                                     std::string(name()) + "')");
  }
};

/// Checks that @p backend speaks an interface version this build supports.
inline Result<void> check_interface_version(const Backend& backend) {
  const auto v = backend.interface_version();
  if (v < min_backend_interface_version || v > backend_interface_version)
    return fail(Errc::version_mismatch,
                "backend '" + std::string(backend.name()) + "' implements interface version " +
                    std::to_string(v) + ", but this vgpu supports versions " +
                    std::to_string(min_backend_interface_version) + " to " +
                    std::to_string(backend_interface_version) + "; rebuild the backend");
  return {};
}

/// A simulated host: GPUs and vGPUs live in memory, and every create obeys the same hardware
/// rules (GpuOccupancy) as real GPUs would. The default backend, and the one tests use.
/// Fails if @p host lists a vGPU on a GPU it does not have, twice, or against those rules
/// (parse_host_description() output always passes).
VGPU_API Result<std::unique_ptr<Backend>> make_simulated_backend(HostDescription host,
                                                                 OccupancyOptions rules = {});

/// Where a backend finds the kernel, and how it names GPUs and types.
struct BackendOptions {
  /// Root every sysfs path is derived from (`<root>/sys/bus/pci/devices`...). Empty:
  /// $VGPU_SYSFS_ROOT if set, else "/".
  std::filesystem::path sysfs_root;
  /// Root for device nodes: the nouveau backend opens `<dev_root>/dev/dri/renderD*`. Empty:
  /// $VGPU_DEV_ROOT if set, else "/" (libdrm's drmGetDevices2() always scans /dev/dri; under
  /// umockdev that is the emulated one).
  std::filesystem::path dev_root;
  /// The catalog GPU models and types are mapped through. Never null when the library calls a
  /// factory; open_backend() fills in builtin_catalog() when it is null.
  std::shared_ptr<const TypeCatalog> catalog;
  /// Where the nvidia-vfio backend keeps what the kernel cannot store (the vGPU's UUID and
  /// owner per VF). Empty: `<sysfs_root>/run/vgpu` (tmpfs on a real host: lost at reboot,
  /// like the VFs themselves).
  std::filesystem::path state_dir;
  /// "sim" only: the host description file; empty: the built-in simulated host.
  std::filesystem::path host_file;
  /// Modes the kernel interface cannot report: NVIDIA's mixed-size (heterogeneous) mode is
  /// set through NVML, not sysfs. GPUs listed here are reported in that mode.
  std::vector<std::pair<PciAddress, GpuMode>> gpu_modes;
};

/// Makes a backend from options (what register_backend() takes).
using BackendFactory = std::function<Result<std::unique_ptr<Backend>>(const BackendOptions&)>;

/// Opens a backend by name: "nvidia-vfio", "mdev", "nouveau", "sim", "auto", or a name added
/// with register_backend(). "auto" picks what the host has (a populated mdev bus: mdev; NVIDIA
/// SR-IOV PFs with the vGPU VF interface: nvidia-vfio, or nouveau when nouveau drives them; a
/// nouveau DRM device: nouveau) and never the simulated host; on a host with none of these it
/// fails with Errc::not_found and says what it looked for. Unknown names fail with
/// Errc::invalid_argument and list the valid ones. The backend's interface version is checked.
VGPU_API Result<std::unique_ptr<Backend>> open_backend(std::string_view name,
                                                       const BackendOptions& options);

/// Adds (or replaces) backend @p name. Fails with Errc::invalid_argument for an empty name, a
/// null factory, or "auto"; the built-in names may be replaced. Thread-safe.
VGPU_API Result<void> register_backend(std::string name, BackendFactory factory);

/// The names open_backend() accepts, sorted ("auto" included).
VGPU_API std::vector<std::string> backend_names();

/// The options with every default filled in (roots from the environment, builtin catalog,
/// state directory): what the built-in backends see.
VGPU_API BackendOptions resolve_backend_options(const BackendOptions& options);

}  // namespace vgpu::sys
