// Helpers the export formats share: names in the consumers' alphabets, and the GPUs and vGPUs
// an ExportOptions selects. Internal to libvgpu.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vgpu/formats.hpp"

namespace vgpu::formats::detail {

using ojson = nlohmann::ordered_json;

// Lower-case letters, digits and single hyphens, no hyphen at either end: "RTX 6000 Ada-1Q"
// -> "rtx-6000-ada-1q" (a DNS label's alphabet; the caller checks the length).
std::string dns_label(std::string_view text);

// RFC 1123 label: 1-63 of [a-z0-9-], alphanumeric at both ends.
bool is_dns_label(std::string_view text);

// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
bool is_dns_subdomain(std::string_view text);

// Upper-case letters, digits and single underscores: "A16-2Q" -> "A16_2Q" (Placement's
// resource class and trait alphabet).
std::string upper_identifier(std::string_view text);

// "0000:41:00.0" -> "pci_0000_41_00_0", as libvirt names PCI node devices.
std::string nodedev_name(const PciAddress& address);

// The GPUs @p options selects (every GPU, or ExportOptions::gpu), or Errc::not_found.
Result<std::vector<const GpuInventory*>> selected_gpus(const Inventory& inventory,
                                                       const ExportOptions& options);

// An active vGPU with the GPU it sits on.
struct SelectedVgpu {
  const GpuInventory* gpu = nullptr;
  const VgpuRecord* record = nullptr;
};

// The active vGPUs @p options selects (ExportOptions::gpu, ExportOptions::uuid), or
// Errc::not_found when ExportOptions::uuid names no active vGPU.
Result<std::vector<SelectedVgpu>> selected_vgpus(const Inventory& inventory,
                                                 const ExportOptions& options);

// The offer of type @p name on @p gpu, or null.
const TypeOffer* find_offer(const GpuInventory& gpu, std::string_view name);

// @p j as indented JSON with a final newline (bytes that are not UTF-8 are replaced).
std::string dump(const ojson& j);

// @p j as a block-style YAML document (no leading "---"), ending in a newline. Strings are
// plain where YAML 1.1 and 1.2 read them back as the same string, else double-quoted.
std::string to_yaml(const ojson& j);

// The format's documents (one function per format, in the format's source file).
Result<std::vector<Document>> libvirt_nodedev(const Inventory& inventory,
                                              const ExportOptions& options);
Result<std::vector<Document>> libvirt_hostdev(const Inventory& inventory,
                                              const ExportOptions& options);
Result<std::vector<Document>> mdevctl(const Inventory& inventory, const ExportOptions& options);
// mdevctl's `list --dumpjson` shape of @p documents.
std::string mdevctl_list(const std::vector<Document>& documents);
Result<std::vector<Document>> placement(const Inventory& inventory, const ExportOptions& options);
Result<std::vector<Document>> dra(const Inventory& inventory, const ExportOptions& options);
// The ResourceSlices of @p inventory as JSON objects (dra() renders them).
Result<std::vector<ojson>> dra_slices(const Inventory& inventory, const ExportOptions& options);
Result<std::vector<Document>> nvidia_vgpu_config(const Inventory& inventory,
                                                 const ExportOptions& options);

}  // namespace vgpu::formats::detail
