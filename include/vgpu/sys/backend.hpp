/// @file
/// @brief The backend interface: discovery and vGPU lifecycle against one kernel interface
/// (for people who write backends; applications use the Manager or vgpuctl).
///
/// A backend reports its interface version; the core accepts versions in
/// [min_backend_interface_version, backend_interface_version] (see docs/api-stability.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/error.hpp"
#include "vgpu/export.hpp"
#include "vgpu/host.hpp"
#include "vgpu/model/gpu.hpp"

namespace vgpu::sys {

/// The interface version this build of vgpu implements.
inline constexpr std::uint32_t backend_interface_version = 1;
/// The oldest interface version this build still accepts.
inline constexpr std::uint32_t min_backend_interface_version = 1;

/// A request to create one vGPU at a decided place.
struct CreateRequest {
  Uuid uuid;                    ///< The new vGPU's UUID.
  PciAddress gpu;               ///< The physical GPU.
  std::string type_name;        ///< Canonical type name (the GPU's model has it).
  std::uint32_t placement = 0;  ///< Start slot.
  std::string owner;            ///< Owner recorded with the vGPU; may be empty.
};

/// One kernel interface (simulated, nvidia-vfio sysfs, mdev, nouveau ...).
///
/// Thread safety: a backend object is used by one thread at a time; callers serialise.
class Backend {
 public:
  virtual ~Backend() = default;
  /// Short name, e.g. "sim".
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
  virtual Result<VgpuInstance> create(const CreateRequest& request) = 0;
  /// Destroys vGPU @p uuid (Errc::not_found if it does not exist).
  virtual Result<void> destroy(const Uuid& uuid) = 0;
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

}  // namespace vgpu::sys
