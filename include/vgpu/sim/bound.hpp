/// @file
/// @brief vgpu::sim::LowerBound: the fewest GPUs that could hold a set of vGPUs, for judging
/// how close a placement policy (with or without migrations) comes to the optimum.
///
/// The bound is per GPU model: each vGPU stays on the model it was placed on (its type belongs
/// to that model), and GPUs of one model are interchangeable. It is a *migration-free* bound in
/// the sense that it asks only how many GPUs the vGPUs alive now need, whatever the history.
///
/// - Equal-size GPUs: every GPU holds one framebuffer size (A/B/Q types of one size share a GPU
///   and count together against the per-GPU maximum; a C-series type shares with nothing), so
///   the optimum is exactly Σ over groups of ⌈n / k⌉, with n the vGPUs of the group and k the
///   per-GPU maximum.
/// - Mixed-size GPUs: a valid (not always tight) bound: the larger of the slot bound
///   ⌈Σ placement sizes / slots per GPU⌉ (placements never overlap) and, per type,
///   ⌈n_t / max_instances_mixed_t⌉. MIG GPUs alike, in memory slices and per-GPU maxima.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <tuple>
#include <utility>

#include "vgpu/placement/engine.hpp"

namespace vgpu::sim {

/// An incrementally maintained lower bound on the GPUs needed by the vGPUs added to it.
class LowerBound {
 public:
  /// Adds a vGPU of @p type (a type of @p model) on a GPU in @p mode.
  void add(const GpuModel& model, const VgpuType& type, GpuMode mode) {
    change(model, type, mode, +1);
  }
  /// Removes a vGPU added with the same arguments.
  void remove(const GpuModel& model, const VgpuType& type, GpuMode mode) {
    change(model, type, mode, -1);
  }
  /// The bound: fewest GPUs that can hold the vGPUs added and not removed.
  [[nodiscard]] std::size_t value() const noexcept { return total_; }
  /// Number of vGPUs added and not removed.
  [[nodiscard]] std::size_t vgpus() const noexcept { return vgpus_; }

 private:
  static std::size_t ceil_div(std::size_t n, std::size_t k) { return k == 0 ? n : (n + k - 1) / k; }

  struct Equal {
    std::size_t n = 0;
    std::size_t k = 0;  // per-GPU maximum of the group
  };
  struct Mixed {
    std::size_t slots_used = 0;
    std::uint32_t slots = 0;
    std::map<const VgpuType*, std::size_t> per_type;
    std::size_t bound = 0;
  };
  // Equal-size group: model, size, and the type itself for C-series (which shares with none).
  using EqualKey = std::tuple<const GpuModel*, std::uint64_t, const VgpuType*>;

  void change(const GpuModel& model, const VgpuType& type, GpuMode mode, int delta) {
    vgpus_ = delta > 0 ? vgpus_ + 1 : vgpus_ - 1;
    if (mode != GpuMode::equal_size) {
      // Mixed-size slots, or MIG memory slices: placements never overlap.
      Mixed& m = mixed_[std::make_pair(&model, mode)];
      m.slots = mode == GpuMode::mig ? mig_memory_slices : model.slots();
      m.slots_used =
          delta > 0 ? m.slots_used + type.placement_size : m.slots_used - type.placement_size;
      auto& n = m.per_type[&type];
      n = delta > 0 ? n + 1 : n - 1;
      std::size_t b = ceil_div(m.slots_used, m.slots);
      for (const auto& [t, count] : m.per_type)
        b = std::max(
            b, ceil_div(count, mode == GpuMode::mig ? t->max_instances : t->max_instances_mixed));
      total_ = total_ - m.bound + b;
      m.bound = b;
      return;
    }
    const bool alone = type.series == Series::C;
    Equal& g = equal_[EqualKey{&model, type.framebuffer.count(), alone ? &type : nullptr}];
    const std::size_t before = ceil_div(g.n, g.k);
    g.k = g.k == 0 ? type.max_instances : std::min<std::size_t>(g.k, type.max_instances);
    g.n = delta > 0 ? g.n + 1 : g.n - 1;
    total_ = total_ - before + ceil_div(g.n, g.k);
  }

  std::map<EqualKey, Equal> equal_;
  std::map<std::pair<const GpuModel*, GpuMode>, Mixed> mixed_;
  std::size_t total_ = 0;
  std::size_t vgpus_ = 0;
};

/// The LowerBound of the vGPUs resident in @p engine now.
inline std::size_t lower_bound(const PlacementEngine& engine) {
  LowerBound b;
  for (GpuIndex g = 0; g < engine.gpu_count(); ++g) {
    const auto& occ = engine.gpu(g);
    for (const auto& o : occ.occupants())
      b.add(*occ.gpu().model, *o.type, occ.gpu().mode);
  }
  return b.value();
}

}  // namespace vgpu::sim
