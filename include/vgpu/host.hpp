/// @file
/// @brief Host descriptions: the GPUs (and optionally the vGPUs) of a simulated host.
///
/// JSON form (docs/host-description.md):
/// @code{.json}
/// {"gpus": [{"model": "A16", "count": 4},
///           {"model": "L40S", "count": 2, "mode": "mixed"},
///           {"model": "A100 PCIe 80GB", "mode": "mig", "address": "0000:c1:00.0", "numa_node":
///           1}],
///  "vgpus": [{"uuid": "...", "type": "A16-2Q", "gpu": "0000:41:00.0", "placement": 0}]}
/// @endcode
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/catalog.hpp"
#include "vgpu/error.hpp"
#include "vgpu/export.hpp"
#include "vgpu/model/gpu.hpp"
#include "vgpu/placement/occupancy.hpp"

namespace vgpu {

/// The GPUs of a host and the vGPUs that exist on them.
struct HostDescription {
  std::vector<PhysicalGpu> gpus;    ///< In PCI address order.
  std::vector<VgpuInstance> vgpus;  ///< Existing vGPUs.
};

/// Parses a host description. Models and types are resolved in @p catalog; every vGPU listed
/// must obey the hardware rules under @p rules. @p origin names the text in errors
/// ("host.json: gpus[1].mode: ...").
VGPU_API Result<HostDescription> parse_host_description(std::string_view text,
                                                        std::string_view origin,
                                                        const TypeCatalog& catalog,
                                                        OccupancyOptions rules = {});

/// Reads and parses a host description file.
VGPU_API Result<HostDescription> load_host_description(const std::filesystem::path& path,
                                                       const TypeCatalog& catalog,
                                                       OccupancyOptions rules = {});

/// The built-in simulated host: one A16 board (4 GPUs), two L40S in mixed-size mode and one
/// A100 PCIe 80GB in MIG mode, all empty. Lets anyone try vgpu with nothing to configure.
/// Fails only if @p catalog lacks those models or their modes (e.g. after replacing them).
VGPU_API Result<HostDescription> default_host(const TypeCatalog& catalog);

/// The JSON form of @p host; parse_host_description() of it gives back the same host.
VGPU_API std::string to_json(const HostDescription& host);

/// Writes @p host to @p path atomically (temporary file, fsync, rename): a reader sees the
/// old file or the new one, never a torn one.
VGPU_API Result<void> save_host_description(const HostDescription& host,
                                            const std::filesystem::path& path);

}  // namespace vgpu
