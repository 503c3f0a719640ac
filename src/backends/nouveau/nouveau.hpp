// The nouveau backend (libdrm discovery + the VF sysfs interface). Internal to libvgpu.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vgpu/sys/backend.hpp"

namespace vgpu::sys::nouveau {

// One NVIDIA GPU that nouveau drives, as libdrm and DRM_NOUVEAU_GETPARAM report it. Optional
// values are those the kernel did not report (EINVAL from kernels that lack the param).
struct DrmGpu {
  PciAddress address;
  std::uint16_t vendor_id = 0, device_id = 0;
  std::string driver;       // drmGetVersion()'s name: "nouveau"
  std::string render_node;  // "/dev/dri/renderD128"
  std::optional<std::uint64_t> framebuffer, framebuffer_used, bar1;
  std::optional<std::uint32_t> chipset, bus_type;
};

// The NVIDIA DRM devices nouveau drives (render nodes opened under @p dev_root), in PCI
// address order. Fails only when libdrm cannot enumerate, or when no node could be opened.
Result<std::vector<DrmGpu>> enumerate(const std::filesystem::path& dev_root);

std::unique_ptr<Backend> make(const BackendOptions& options);

}  // namespace vgpu::sys::nouveau
