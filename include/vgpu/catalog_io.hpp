/// @file
/// @brief Loading catalogs: the built-in tables compiled into libvgpu, and JSON files.
///
/// The file format (schema "vgpu-catalog/1") is described in docs/catalog.md. Errors name the
/// file and the JSON path of the offending field, e.g.
/// "my.json: gpus[2].types[5].placement_ids: 48 exceeds framebuffer of 48 slots".
/// A file is applied all-or-nothing: on any error the catalog is left as it was.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "vgpu/catalog.hpp"
#include "vgpu/error.hpp"
#include "vgpu/export.hpp"

namespace vgpu {

/// The built-in catalog: every GPU model and vGPU type of NVIDIA's published tables
/// (data/catalog/*.json, embedded at build time). Parsed once per process; thread-safe.
/// Copy it to extend it: `vgpu::TypeCatalog mine = vgpu::builtin_catalog();`.
VGPU_API const TypeCatalog& builtin_catalog();

/// Parses catalog JSON @p text and adds its models to @p catalog. @p origin names the text in
/// error messages (usually the file name).
VGPU_API Result<void> load_catalog_text(TypeCatalog& catalog, std::string_view text,
                                        std::string_view origin,
                                        OnDuplicate on_duplicate = OnDuplicate::refuse);

/// Loads a catalog file, or every "*.json" file of a directory (in name order, as one unit:
/// if any file fails, nothing is added).
VGPU_API Result<void> load_catalog_path(TypeCatalog& catalog, const std::filesystem::path& path,
                                        OnDuplicate on_duplicate = OnDuplicate::refuse);

/// Serialises one model in the catalog file format (schema "vgpu-catalog/1");
/// load_catalog_text() of the result gives back an equal model.
VGPU_API std::string to_catalog_json(const GpuModel& model);

}  // namespace vgpu
