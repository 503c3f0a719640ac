/// @file
/// @brief vgpu::first_fit(): the simplest placement rule over a host's GPUs, and
/// vgpu::commit() to record a decision. Policies (breadth-first, depth-first,
/// fragmentation-aware, ...) build on the same GpuOccupancy rules.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "vgpu/catalog.hpp"
#include "vgpu/error.hpp"
#include "vgpu/placement/occupancy.hpp"

namespace vgpu {

/// Where a vGPU should go.
struct PlacementDecision {
  PciAddress gpu;               ///< The chosen GPU.
  TypeRef type;                 ///< The type, from the GPU's model.
  std::uint32_t placement = 0;  ///< Start slot on that GPU.
};

/// Constraints on one placement.
struct PlacementConstraints {
  std::optional<PciAddress> gpu;           ///< Only this GPU.
  std::optional<std::uint32_t> placement;  ///< Only this placement (start slot).
};

/// Picks the first GPU, in PCI address order, that can take the type now.
/// If none can, the error lists every GPU with the reason it was rejected.
inline Result<PlacementDecision> first_fit(const std::vector<GpuOccupancy>& gpus,
                                           const TypeRef& type,
                                           const PlacementConstraints& constraints = {}) {
  std::vector<const GpuOccupancy*> order;
  for (const auto& g : gpus)
    order.push_back(&g);
  std::sort(order.begin(), order.end(), [](const GpuOccupancy* a, const GpuOccupancy* b) {
    return a->gpu().address < b->gpu().address;
  });
  std::string reasons;
  bool gpu_found = !constraints.gpu;
  Errc code = Errc::no_capacity;
  for (const GpuOccupancy* g : order) {
    if (constraints.gpu && g->gpu().address != *constraints.gpu) continue;
    gpu_found = true;
    if (g->gpu().model != type.model) {
      reasons += "\n  - GPU " + g->gpu().address.to_string() + " (" + g->gpu().model->name +
                 "): " + type.type->name + " is a type of " + type.model->name;
      continue;
    }
    auto at = g->find_placement(*type.type, constraints.placement);
    if (at) return PlacementDecision{g->gpu().address, type, *at};
    if (at.error().code() == Errc::invalid_argument) code = Errc::invalid_argument;
    reasons += "\n  - " + at.error().message();  // each reason names its GPU
  }
  if (!gpu_found)
    return fail(Errc::not_found, "no GPU " + constraints.gpu->to_string() + " on this host");
  if (reasons.empty()) return fail(Errc::no_capacity, "the host has no GPUs");
  return fail(code, "no GPU can host " + type.type->name + ":" + reasons);
}

/// Records vGPU @p uuid at @p decision in the matching GPU of @p gpus (after the backend
/// created it). Fails if the GPU is not in @p gpus or the rules refuse the placement now.
inline Result<void> commit(std::vector<GpuOccupancy>& gpus, const PlacementDecision& decision,
                           const Uuid& uuid) {
  for (auto& g : gpus) {
    if (g.gpu().address != decision.gpu) continue;
    auto placed = g.add(uuid, *decision.type.type, decision.placement);
    if (!placed) return placed.error();
    return {};
  }
  return fail(Errc::not_found, "no GPU " + decision.gpu.to_string() + " in this placement state");
}

}  // namespace vgpu
