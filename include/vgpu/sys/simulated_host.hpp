/// @file
/// @brief A simulated host kept in a file, so that several processes share one simulated
/// "kernel" (what the ledger's multi-process tests and `vgpuctl --host FILE` run against).
#pragma once

#include <filesystem>
#include <memory>

#include "vgpu/catalog.hpp"
#include "vgpu/error.hpp"
#include "vgpu/export.hpp"
#include "vgpu/placement/occupancy.hpp"
#include "vgpu/sys/backend.hpp"

namespace vgpu::sys {

/// A simulated host whose state lives in the host description file @p path
/// (docs/host-description.md). Every operation takes a lock (`PATH.lock`, released by the
/// kernel if the process dies), reads the file if another process changed it, applies the
/// hardware rules as make_simulated_backend() does, and writes the file back atomically.
/// Any number of processes may open one file. Fails if the file is missing or invalid.
VGPU_API Result<std::unique_ptr<Backend>> open_simulated_host(
    const std::filesystem::path& path, std::shared_ptr<const TypeCatalog> catalog,
    OccupancyOptions rules = {});

}  // namespace vgpu::sys
