// The classic mediated-device interface (/sys/class/mdev_bus). Internal to libvgpu.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "vgpu/sys/backend.hpp"

namespace vgpu::sys::mdev {

// What an mdev type's free-form description says. NVIDIA:
// "num_heads=4, frl_config=60, framebuffer=2048M, max_resolution=5120x2880, max_instance=8";
// Intel GVT-g: "low_gm_size: 128MB\nhigh_gm_size: 384MB\nfence: 4\nresolution: 1920x1200\n
// weight: 4". Keys the parser does not know stay in `fields`.
struct Description {
  std::map<std::string, std::string> fields;      // every "key=value" / "key: value" pair
  std::optional<Bytes> framebuffer;               // framebuffer=, or low_gm_size + high_gm_size
  std::optional<std::uint32_t> heads;             // num_heads=
  std::optional<Resolution> max_resolution;       // max_resolution= or resolution:
  std::optional<std::uint32_t> max_instances;     // max_instance=
  std::optional<std::uint32_t> frame_rate_limit;  // frl_config=
};

// Never fails: text it cannot read is kept only in `fields` (or dropped, if it has no key).
Description parse_description(std::string_view text);

// A count in sysfs (available_instances, num_heads=, max_instance=, frl_config=): a sysfs
// number up to 2^32 - 1, else nullopt.
std::optional<std::uint32_t> small_number(const std::string& text);

// A size as drivers print it: "2048M", "384MB", "16G"; a bare number is MiB.
std::optional<Bytes> size_of(std::string text);

// The time-sliced type of @p model with the framebuffer, heads, maximum instances and
// frame-rate limit @p d gives, when exactly one fits (how a type the catalog does not name
// is matched); else null.
const VgpuType* match_description(const GpuModel& model, const Description& d);

std::unique_ptr<Backend> make(const BackendOptions& options);

// The kernel's mdev type ids (the directory names under mdev_supported_types, e.g.
// "nvidia-558") of parent @p parent, by the catalog's canonical type name. Types the catalog
// cannot name are left out. @p options must carry a catalog (resolve_backend_options()).
Result<std::map<std::string, std::string>> type_ids(const BackendOptions& options,
                                                    const PciAddress& parent);

// True when <root>/sys/class/mdev_bus lists at least one parent.
bool host_has_mdev(const BackendOptions& options);

}  // namespace vgpu::sys::mdev
