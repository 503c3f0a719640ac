/// @file
/// @brief vgpu::GpuOccupancy: what one physical GPU holds, and the hardware rules for adding
/// to it (equal-size, mixed-size placements, MIG GPU instances).
///
/// Pure computation, no I/O. Not synchronised: guard a GpuOccupancy with a lock if several
/// threads change it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vgpu/error.hpp"
#include "vgpu/model/gpu.hpp"

namespace vgpu {

/// Rules that are stricter than the current hardware's.
struct OccupancyOptions {
  /// Allow only one vGPU *type* per GPU in equal-size mode, as older drivers, mdev and the
  /// RFC's VF interface do. When false, types of one framebuffer size may share a GPU if all
  /// are A, B or Q series (vGPU 17 behaviour); C-series types never share with another type.
  bool one_type_per_gpu = false;
};

/// One vGPU resident on a GPU.
struct Occupant {
  Uuid uuid;                       ///< The vGPU.
  const VgpuType* type = nullptr;  ///< Its type, inside the GPU's model.
  std::uint32_t placement = 0;     ///< Start slot (GiB slot or MIG memory slice).
};

/// The occupancy of one physical GPU.
class GpuOccupancy {
 public:
  /// An empty GPU. @p gpu.model must not be null.
  explicit GpuOccupancy(PhysicalGpu gpu, OccupancyOptions options = {})
      : gpu_(std::move(gpu)), options_(options) {}

  /// The GPU.
  [[nodiscard]] const PhysicalGpu& gpu() const noexcept { return gpu_; }
  /// The vGPUs on it, in the order they were added.
  [[nodiscard]] const std::vector<Occupant>& occupants() const noexcept { return occupants_; }
  /// True when no vGPU is resident.
  [[nodiscard]] bool empty() const noexcept { return occupants_.empty(); }
  /// Framebuffer given out to resident vGPUs.
  [[nodiscard]] Bytes used_framebuffer() const noexcept {
    Bytes used;
    for (const auto& o : occupants_)
      used = used + o.type->framebuffer;
    return used;
  }

  /// Changes the mode. Only an empty GPU may change mode (Errc::busy otherwise, like NVML's
  /// IN_USE); the model must support the mode (Errc::not_supported).
  Result<void> set_mode(GpuMode mode) {
    if (mode == gpu_.mode) return {};
    if (!empty())
      return fail(Errc::busy, "GPU " + addr() + " holds " + std::to_string(occupants_.size()) +
                                  " vGPU(s); destroy them before switching to " +
                                  std::string(to_string(mode)) + " mode");
    if (mode == GpuMode::mixed_size && !gpu_.model->mixed_size_capable)
      return fail(Errc::not_supported, gpu_.model->name + " does not support mixed-size mode");
    if (mode == GpuMode::mig && !gpu_.model->mig_capable)
      return fail(Errc::not_supported, gpu_.model->name + " does not support MIG");
    gpu_.mode = mode;
    return {};
  }

  /// Where the next vGPU of @p type would go: @p requested if given and free, else the lowest
  /// free allowed start. The error says why the GPU cannot take it, e.g. "GPU 0000:41:00.0
  /// holds A16-2Q vGPUs (equal-size mode); A16-4Q cannot join".
  [[nodiscard]] Result<std::uint32_t> find_placement(
      const VgpuType& type, std::optional<std::uint32_t> requested = std::nullopt) const {
    auto own = own_type(type);
    if (!own) return own.error();
    const VgpuType& t = **own;
    if (auto ok = mode_allows(t); !ok) return ok.error();
    const auto starts = allowed_starts(t);
    if (requested) {
      if (std::find(starts.begin(), starts.end(), *requested) == starts.end())
        return fail(Errc::invalid_argument, "placement " + std::to_string(*requested) +
                                                " is not allowed for " + t.name + " in " +
                                                mode_name() + " mode on GPU " + addr() +
                                                "; allowed: " + detail::join_numbers(starts));
      if (const Occupant* o = overlapping(t, *requested))
        return fail(Errc::no_capacity, "placement " + std::to_string(*requested) + " for " +
                                           t.name + " on GPU " + addr() + " overlaps vGPU " +
                                           o->uuid.to_string() + " (" + o->type->name + " at " +
                                           std::to_string(o->placement) + ")");
      return *requested;
    }
    for (auto start : starts)
      if (!overlapping(t, start)) return start;
    return fail(Errc::no_capacity, "GPU " + addr() + " has no free placement for " + t.name + " (" +
                                       mode_name() + " mode; allowed starts " +
                                       detail::join_numbers(starts) +
                                       " all overlap resident vGPUs)");
  }

  /// Adds vGPU @p uuid of @p type at @p requested (or the first free placement).
  /// Returns the placement used; on error nothing changes.
  Result<std::uint32_t> add(const Uuid& uuid, const VgpuType& type,
                            std::optional<std::uint32_t> requested = std::nullopt) {
    if (holds(uuid))
      return fail(Errc::conflict, "vGPU " + uuid.to_string() + " already exists on GPU " + addr());
    auto placement = find_placement(type, requested);
    if (!placement) return placement.error();
    occupants_.push_back(Occupant{uuid, *own_type(type), *placement});
    return *placement;
  }

  /// Removes vGPU @p uuid (Errc::not_found if it is not on this GPU).
  Result<void> remove(const Uuid& uuid) {
    auto it = std::find_if(occupants_.begin(), occupants_.end(),
                           [&](const Occupant& o) { return o.uuid == uuid; });
    if (it == occupants_.end())
      return fail(Errc::not_found, "no vGPU " + uuid.to_string() + " on GPU " + addr());
    occupants_.erase(it);
    return {};
  }

  /// True when vGPU @p uuid is on this GPU.
  [[nodiscard]] bool holds(const Uuid& uuid) const noexcept {
    return std::any_of(occupants_.begin(), occupants_.end(),
                       [&](const Occupant& o) { return o.uuid == uuid; });
  }

  /// The placements where a vGPU of @p type could be created now (what NVML calls creatable
  /// placements); empty when the type cannot be created on this GPU now.
  [[nodiscard]] std::vector<std::uint32_t> free_placements(const VgpuType& type) const {
    std::vector<std::uint32_t> out;
    auto own = own_type(type);
    if (!own || !mode_allows(**own)) return out;
    for (auto start : allowed_starts(**own))
      if (!overlapping(**own, start)) out.push_back(start);
    return out;
  }

  /// How many more vGPUs of @p type fit now (0 when the type cannot be created): the free
  /// placements, capped by what the per-GPU maximum still allows. Placements of one type never
  /// overlap each other (the catalog validates that), so each free one can be used.
  [[nodiscard]] std::uint32_t remaining(const VgpuType& type) const {
    auto own = own_type(type);
    if (!own) return 0;
    const auto free = static_cast<std::uint32_t>(free_placements(**own).size());
    const std::uint32_t limit = max_instances(**own);
    const std::uint32_t used = count_against_limit(**own);
    return std::min(free, limit > used ? limit - used : 0);
  }

 private:
  [[nodiscard]] std::string addr() const { return gpu_.address.to_string(); }
  [[nodiscard]] std::string mode_name() const { return std::string(describe(gpu_.mode)); }

  // The model's own copy of @p type (callers may pass a copy or a type of another model).
  [[nodiscard]] Result<const VgpuType*> own_type(const VgpuType& type) const {
    if (const VgpuType* t = gpu_.model->find_type(type.name)) return t;
    return fail(Errc::not_supported,
                "GPU " + addr() + " (" + gpu_.model->name + ") does not support " + type.name);
  }

  // Mode, equal-size and per-type-maximum rules: everything except slot overlap.
  [[nodiscard]] Result<void> mode_allows(const VgpuType& t) const {
    if (gpu_.mode == GpuMode::mig && !t.is_mig_backed())
      return fail(Errc::not_supported, "GPU " + addr() + " is in MIG mode; " + t.name +
                                           " is time-sliced and needs equal- or mixed-size mode");
    if (gpu_.mode != GpuMode::mig && t.is_mig_backed())
      return fail(Errc::not_supported, "GPU " + addr() + " is in " + mode_name() + " mode; " +
                                           t.name + " is MIG-backed and needs MIG mode");
    if (gpu_.mode == GpuMode::mixed_size && t.max_instances_mixed == 0)
      return fail(Errc::not_supported,
                  t.name + " cannot be used in mixed-size mode (GPU " + addr() + ")");
    if (gpu_.mode == GpuMode::equal_size && !occupants_.empty()) {
      const VgpuType& resident = *occupants_.front().type;
      const bool same_type = resident.name == t.name;
      const bool may_share = resident.framebuffer == t.framebuffer && !options_.one_type_per_gpu &&
                             resident.series != Series::C && t.series != Series::C;
      if (!same_type && !may_share)
        return fail(Errc::no_capacity, "GPU " + addr() + " holds " + resident.name +
                                           " vGPUs (equal-size mode); " + t.name + " cannot join");
    }
    const std::uint32_t limit = max_instances(t);
    if (count_against_limit(t) >= limit)
      return fail(Errc::no_capacity, "GPU " + addr() + " already holds the maximum of " +
                                         std::to_string(limit) + " " + t.name + " vGPUs (" +
                                         mode_name() + " mode)");
    return {};
  }

  [[nodiscard]] std::uint32_t max_instances(const VgpuType& t) const {
    return gpu_.mode == GpuMode::mixed_size ? t.max_instances_mixed : t.max_instances;
  }

  // Resident vGPUs that count against @p t's per-GPU maximum: in equal-size mode every
  // same-size vGPU (A/B/Q of one size share the budget), otherwise those of the same type.
  [[nodiscard]] std::uint32_t count_against_limit(const VgpuType& t) const {
    std::uint32_t count = 0;
    for (const auto& o : occupants_) {
      const bool counts = gpu_.mode == GpuMode::equal_size ? o.type->framebuffer == t.framebuffer
                                                           : o.type->name == t.name;
      count += counts ? 1 : 0;
    }
    return count;
  }

  // Equal-size mode packs instances at multiples of the placement size; mixed-size and MIG use
  // the type's published placement IDs.
  [[nodiscard]] std::vector<std::uint32_t> allowed_starts(const VgpuType& t) const {
    if (gpu_.mode != GpuMode::equal_size) return t.placement_ids;
    std::vector<std::uint32_t> starts;
    for (std::uint32_t k = 0; k < t.max_instances; ++k)
      starts.push_back(k * t.placement_size);
    return starts;
  }

  [[nodiscard]] const Occupant* overlapping(const VgpuType& t, std::uint32_t start) const {
    for (const auto& o : occupants_) {
      if (start < o.placement + o.type->placement_size && o.placement < start + t.placement_size)
        return &o;
    }
    return nullptr;
  }

  PhysicalGpu gpu_;
  OccupancyOptions options_;
  std::vector<Occupant> occupants_;
};

}  // namespace vgpu
