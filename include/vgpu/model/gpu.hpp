/// @file
/// @brief vgpu::PhysicalGpu and vgpu::VgpuInstance: what a host has and what it hands out.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vgpu/error.hpp"
#include "vgpu/model/pci_address.hpp"
#include "vgpu/model/uuid.hpp"
#include "vgpu/model/vgpu_type.hpp"

namespace vgpu {

/// How a physical GPU shares itself out.
enum class GpuMode {
  equal_size,  ///< All time-sliced vGPUs on the GPU have one framebuffer size (the default).
  mixed_size,  ///< Time-sliced vGPUs of different sizes at fixed placements.
  mig,         ///< MIG-backed vGPUs on GPU instances.
};

/// "equal", "mixed" or "mig".
inline std::string_view to_string(GpuMode m) {
  switch (m) {
    case GpuMode::equal_size:
      return "equal";
    case GpuMode::mixed_size:
      return "mixed";
    case GpuMode::mig:
      return "mig";
  }
  return "equal";
}

/// "equal-size", "mixed-size" or "MIG", as messages and NVIDIA's documentation spell modes.
inline std::string_view describe(GpuMode m) {
  switch (m) {
    case GpuMode::equal_size:
      return "equal-size";
    case GpuMode::mixed_size:
      return "mixed-size";
    case GpuMode::mig:
      return "MIG";
  }
  return "equal-size";
}

/// Parses "equal", "mixed" or "mig" (also "equal-size", "mixed-size").
inline Result<GpuMode> parse_gpu_mode(std::string_view text) {
  if (text == "equal" || text == "equal-size") return GpuMode::equal_size;
  if (text == "mixed" || text == "mixed-size") return GpuMode::mixed_size;
  if (text == "mig") return GpuMode::mig;
  return fail(Errc::invalid_argument,
              "invalid GPU mode " + detail::quoted(text) + ": expected equal, mixed or mig");
}

/// One physical GPU (PCI function) of a host.
struct PhysicalGpu {
  PciAddress address;                      ///< PCI address of the GPU (the SR-IOV PF).
  std::shared_ptr<const GpuModel> model;   ///< Its model, from the catalog; never null.
  GpuMode mode = GpuMode::equal_size;      ///< Current mode.
  std::optional<std::uint32_t> numa_node;  ///< NUMA node, when known.
  /// PCI root the GPU hangs off (e.g. "pci0000:40"), when known; empty otherwise. Requests
  /// may ask for all their vGPUs under one root (peer-to-peer between them).
  std::string pci_root;
};

/// A vGPU that exists (or is being created) on a physical GPU.
struct VgpuInstance {
  Uuid uuid;                    ///< The vGPU's UUID (the mdev name, or vgpu's own for VFs).
  std::string type_name;        ///< Canonical type name, e.g. "A16-2Q".
  PciAddress gpu;               ///< The physical GPU it sits on.
  std::uint32_t placement = 0;  ///< Start slot (GiB slot, or MIG memory slice).
  std::string owner;            ///< Free-form owner (VM name or uuid); may be empty.
  std::chrono::system_clock::time_point created_at;  ///< When it was created.
  /// What a VMM is given: a VF's PCI address ("0000:41:00.5") for SR-IOV vGPUs, the mdev
  /// sysfs path for mdev vGPUs; empty on the simulated host.
  std::string device;
};

}  // namespace vgpu
