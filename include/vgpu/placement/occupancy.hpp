/// @file
/// @brief vgpu::GpuOccupancy: what one physical GPU holds, and the hardware rules for adding
/// to it (equal-size, mixed-size placements, MIG GPU instances).
///
/// Pure computation, no I/O. Not synchronised: guard a GpuOccupancy with a lock if several
/// threads change it.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
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

/// A set of 1-GiB slots (or MIG memory slices) of one GPU: 128 bits, enough for every model
/// in the catalog (the largest, H100 NVL, has 94 slots).
class SlotMask {
 public:
  /// Number of slots a mask can hold.
  static constexpr std::uint32_t capacity = 128;

  /// The slots [start, start + length), clipped to the capacity.
  static SlotMask range(std::uint32_t start, std::uint32_t length) noexcept {
    SlotMask m;
    for (std::uint32_t w = 0; w < 2; ++w) {
      const std::uint32_t lo = std::max(start, w * 64);
      const std::uint32_t hi = std::min(start + length, w * 64 + 64);
      if (lo >= hi) continue;
      const std::uint32_t n = hi - lo;
      const std::uint64_t bits = n == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << n) - 1);
      m.words_[w] |= bits << (lo - w * 64);
    }
    return m;
  }
  /// True when the two masks share a slot.
  [[nodiscard]] bool intersects(const SlotMask& o) const noexcept {
    return ((words_[0] & o.words_[0]) | (words_[1] & o.words_[1])) != 0;
  }
  /// Adds the slots of @p o.
  SlotMask& operator|=(const SlotMask& o) noexcept {
    words_[0] |= o.words_[0];
    words_[1] |= o.words_[1];
    return *this;
  }
  /// Removes the slots of @p o.
  SlotMask& remove(const SlotMask& o) noexcept {
    words_[0] &= ~o.words_[0];
    words_[1] &= ~o.words_[1];
    return *this;
  }
  /// Number of slots in the mask.
  [[nodiscard]] std::uint32_t count() const noexcept {
    return static_cast<std::uint32_t>(std::popcount(words_[0]) + std::popcount(words_[1]));
  }
  /// The bits, slot 0 being bit 0 of word 0.
  [[nodiscard]] const std::array<std::uint64_t, 2>& words() const noexcept { return words_; }
  /// Same slots.
  friend bool operator==(const SlotMask&, const SlotMask&) = default;

 private:
  std::array<std::uint64_t, 2> words_{};
};

/// The occupancy of one physical GPU.
class GpuOccupancy {
 public:
  /// An empty GPU. @p gpu.model must not be null.
  explicit GpuOccupancy(PhysicalGpu gpu, OccupancyOptions options = {})
      : gpu_(std::move(gpu)), options_(options) {}

  /// The rules this GPU enforces.
  [[nodiscard]] const OccupancyOptions& options() const noexcept { return options_; }
  /// The slots (GiB slots, or MIG memory slices) that resident vGPUs occupy.
  [[nodiscard]] const SlotMask& used_slots() const noexcept { return used_; }

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
    if (requested) {
      bool allowed = false;
      for_each_start(t, [&](std::uint32_t s) {
        allowed = allowed || s == *requested;
        return !allowed;
      });
      if (!allowed)
        return fail(Errc::invalid_argument, "placement " + std::to_string(*requested) +
                                                " is not allowed for " + t.name + " in " +
                                                mode_name() + " mode on GPU " + addr() +
                                                "; allowed: " + detail::join_numbers(starts_of(t)));
      if (const Occupant* o = overlapping(t, *requested))
        return fail(Errc::no_capacity, "placement " + std::to_string(*requested) + " for " +
                                           t.name + " on GPU " + addr() + " overlaps vGPU " +
                                           o->uuid.to_string() + " (" + o->type->name + " at " +
                                           std::to_string(o->placement) + ")");
      return *requested;
    }
    if (auto found = first_free(t)) return *found;
    return fail(Errc::no_capacity, "GPU " + addr() + " has no free placement for " + t.name + " (" +
                                       mode_name() + " mode; allowed starts " +
                                       detail::join_numbers(starts_of(t)) +
                                       " all overlap resident vGPUs)");
  }

  /// True when a vGPU of @p type could be created now at some placement: find_placement()
  /// without building a message, for schedulers.
  [[nodiscard]] bool can_create(const VgpuType& type) const noexcept {
    const VgpuType* t = own_type_fast(type);
    return t && allows_fast(*t) && first_free(*t).has_value();
  }

  /// True when a vGPU of @p type could be created now at exactly @p start.
  [[nodiscard]] bool can_create_at(const VgpuType& type, std::uint32_t start) const noexcept {
    const VgpuType* t = own_type_fast(type);
    if (!t || !allows_fast(*t) || !is_free(*t, start)) return false;
    bool allowed = false;
    for_each_start(*t, [&](std::uint32_t s) {
      allowed = s == start;
      return !allowed;
    });
    return allowed;
  }

  /// Adds vGPU @p uuid of @p type at @p requested (or the first free placement).
  /// Returns the placement used; on error nothing changes.
  Result<std::uint32_t> add(const Uuid& uuid, const VgpuType& type,
                            std::optional<std::uint32_t> requested = std::nullopt) {
    if (holds(uuid))
      return fail(Errc::conflict, "vGPU " + uuid.to_string() + " already exists on GPU " + addr());
    auto placement = find_placement(type, requested);
    if (!placement) return placement.error();
    const VgpuType* t = *own_type(type);
    occupants_.push_back(Occupant{uuid, t, *placement});
    used_ |= SlotMask::range(*placement, t->placement_size);
    return *placement;
  }

  /// Removes vGPU @p uuid (Errc::not_found if it is not on this GPU).
  Result<void> remove(const Uuid& uuid) {
    auto it = std::find_if(occupants_.begin(), occupants_.end(),
                           [&](const Occupant& o) { return o.uuid == uuid; });
    if (it == occupants_.end())
      return fail(Errc::not_found, "no vGPU " + uuid.to_string() + " on GPU " + addr());
    used_.remove(SlotMask::range(it->placement, it->type->placement_size));
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
    const VgpuType* t = own_type_fast(type);
    if (!t || !allows_fast(*t)) return out;
    for_each_start(*t, [&](std::uint32_t s) {
      if (is_free(*t, s)) out.push_back(s);
      return true;
    });
    return out;
  }

  /// How many more vGPUs of @p type fit now (0 when the type cannot be created): the free
  /// placements, capped by what the per-GPU maximum still allows. Placements of one type never
  /// overlap each other (the catalog validates that), so each free one can be used.
  [[nodiscard]] std::uint32_t remaining(const VgpuType& type) const noexcept {
    const VgpuType* t = own_type_fast(type);
    if (!t || !allows_fast(*t)) return 0;
    std::uint32_t free = 0;
    for_each_start(*t, [&](std::uint32_t s) {
      free += is_free(*t, s) ? 1 : 0;
      return true;
    });
    const std::uint32_t limit = max_instances(*t);
    const std::uint32_t used = count_against_limit(*t);
    return std::min(free, limit > used ? limit - used : 0);
  }

  /// The model's own copy of @p type (the same object when @p type belongs to this GPU's
  /// model), or null when the model has no type of that name.
  [[nodiscard]] const VgpuType* own_type_fast(const VgpuType& type) const noexcept {
    const auto& types = gpu_.model->types;
    if (!types.empty() && &type >= types.data() && &type < types.data() + types.size())
      return &type;
    return gpu_.model->find_type(type.name);
  }

  /// Calls @p fn(start) for each start the rules allow @p t (free or not), in increasing
  /// order, while @p fn returns true. Equal-size mode packs instances at multiples of the
  /// placement size; mixed-size and MIG use the type's published placement IDs.
  template <typename Fn>
  void for_each_start(const VgpuType& t, Fn&& fn) const {
    if (gpu_.mode != GpuMode::equal_size) {
      for (auto s : t.placement_ids)
        if (!fn(s)) return;
      return;
    }
    for (std::uint32_t k = 0; k < t.max_instances; ++k)
      if (!fn(k * t.placement_size)) return;
  }

  /// True when the slots a vGPU of @p t at @p start would occupy are all free.
  [[nodiscard]] bool is_free(const VgpuType& t, std::uint32_t start) const noexcept {
    return !used_.intersects(SlotMask::range(start, t.placement_size));
  }

 private:
  [[nodiscard]] std::string addr() const { return gpu_.address.to_string(); }
  [[nodiscard]] std::string mode_name() const { return std::string(describe(gpu_.mode)); }

  // The model's own copy of @p type (callers may pass a copy or a type of another model).
  [[nodiscard]] Result<const VgpuType*> own_type(const VgpuType& type) const {
    if (const VgpuType* t = own_type_fast(type)) return t;
    return fail(Errc::not_supported,
                "GPU " + addr() + " (" + gpu_.model->name + ") does not support " + type.name);
  }

  // mode_allows() without building a message.
  [[nodiscard]] bool allows_fast(const VgpuType& t) const noexcept {
    if ((gpu_.mode == GpuMode::mig) != t.is_mig_backed()) return false;
    if (gpu_.mode == GpuMode::mixed_size && t.max_instances_mixed == 0) return false;
    if (gpu_.mode == GpuMode::equal_size && !occupants_.empty() &&
        !may_join_equal_size(*occupants_.front().type, t))
      return false;
    return count_against_limit(t) < max_instances(t);
  }

  // Equal-size mode: may @p t join a GPU whose vGPUs are of type @p resident?
  [[nodiscard]] bool may_join_equal_size(const VgpuType& resident, const VgpuType& t) const {
    if (&resident == &t || resident.name == t.name) return true;
    return resident.framebuffer == t.framebuffer && !options_.one_type_per_gpu &&
           resident.series != Series::C && t.series != Series::C;
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
      if (!may_join_equal_size(resident, t))
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

  [[nodiscard]] std::optional<std::uint32_t> first_free(const VgpuType& t) const noexcept {
    std::optional<std::uint32_t> found;
    for_each_start(t, [&](std::uint32_t s) {
      if (is_free(t, s)) found = s;
      return !found;
    });
    return found;
  }

  [[nodiscard]] std::vector<std::uint32_t> starts_of(const VgpuType& t) const {
    std::vector<std::uint32_t> starts;
    for_each_start(t, [&](std::uint32_t s) {
      starts.push_back(s);
      return true;
    });
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
  SlotMask used_;
};

}  // namespace vgpu
