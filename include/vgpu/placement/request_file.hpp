/// @file
/// @brief Placement requests as JSON (for `vgpuctl plan FILE` and batch tools).
///
/// @code{.json}
/// {"requests": [
///   {"type": "A16-2Q", "count": 2, "owner": "vm-17", "affinity": "numa"},
///   {"min_framebuffer": "3GiB", "min_heads": 2, "series": "Q", "deny_gpus": ["0000:41:00.0"]},
///   {"gpu_milli": 500, "series": "C", "gpus": ["0000:81:00.0", "0000:82:00.0"]}]}
/// @endcode
/// docs/policies.md lists every key. A bare array of requests is accepted too.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "vgpu/catalog.hpp"
#include "vgpu/error.hpp"
#include "vgpu/export.hpp"
#include "vgpu/placement/engine.hpp"

namespace vgpu {

/// Parses requests. Types are resolved in @p catalog; GPU addresses ("gpus", "deny_gpus")
/// in @p engine's host 0. Errors name the file and the request: "plan.json: requests[2].type:
/// unknown vGPU type ...". Either every request parses or the call fails.
VGPU_API Result<std::vector<Request>> parse_requests(std::string_view text, std::string_view origin,
                                                     const TypeCatalog& catalog,
                                                     const PlacementEngine& engine);

/// Reads and parses a request file.
VGPU_API Result<std::vector<Request>> load_requests(const std::filesystem::path& path,
                                                    const TypeCatalog& catalog,
                                                    const PlacementEngine& engine);

}  // namespace vgpu
