/// @file
/// @brief Batch planning: place many requests at once, offline, and report the ones that do
/// not fit with their reasons. Planning works on a copy; nothing changes until committed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "vgpu/error.hpp"
#include "vgpu/placement/engine.hpp"

namespace vgpu {

/// How to plan a batch.
struct BatchOptions {
  /// Plan the largest requests first (framebuffer per vGPU times count), which packs better
  /// offline; ties keep the input order. When false, plan in input order.
  bool largest_first = true;
};

/// The outcome of one request of a batch.
struct BatchItem {
  /// The vGPUs with their UUIDs and placements, or why the request does not fit.
  Result<std::vector<std::pair<Uuid, Placement>>> result = fail(Errc::internal, "not planned");
};

/// A planned batch.
struct BatchPlan {
  std::vector<BatchItem> items;    ///< One per request, in input order.
  std::vector<std::size_t> order;  ///< Input indices in the order they were planned.
  std::size_t placed = 0;          ///< Requests that fit.
  std::size_t refused = 0;         ///< Requests that did not.
};

/// Plans @p requests on a copy of @p engine (which is left unchanged).
inline BatchPlan plan_batch(const PlacementEngine& engine, const std::vector<Request>& requests,
                            const BatchOptions& options = {}) {
  PlacementEngine work = engine;
  BatchPlan plan;
  plan.items.resize(requests.size());
  plan.order.resize(requests.size());
  std::iota(plan.order.begin(), plan.order.end(), std::size_t{0});
  if (options.largest_first) {
    // Size on the largest GPU model present (a gpu_milli request scales with the GPU).
    const GpuModel* largest = nullptr;
    for (GpuIndex g = 0; g < work.gpu_count(); ++g)
      if (!largest || work.gpu(g).gpu().model->framebuffer > largest->framebuffer)
        largest = work.gpu(g).gpu().model.get();
    auto size = [&](const Request& r) {
      const std::uint64_t each = largest ? r.requested_framebuffer(*largest).count()
                                         : r.requirement.min_framebuffer.count();
      return each * r.count;
    };
    std::stable_sort(plan.order.begin(), plan.order.end(), [&](std::size_t a, std::size_t b) {
      return size(requests[a]) > size(requests[b]);
    });
  }
  // probe() + commit() rather than place(): planning must not teach a learning policy (the
  // requests count when they are committed for real). A random policy's draws do advance.
  for (std::size_t i : plan.order) {
    auto decided = work.probe(requests[i]);
    if (!decided) {
      plan.items[i].result = decided.error();
      ++plan.refused;
      continue;
    }
    std::vector<std::pair<Uuid, Placement>> placed;
    for (const auto& p : *decided) {
      const Uuid u = Uuid::generate();
      (void)work.commit(p, u, requests[i].owner);  // valid: probe() just checked it
      placed.emplace_back(u, p);
    }
    plan.items[i].result = std::move(placed);
    ++plan.placed;
  }
  return plan;
}

/// Commits the placed items of @p plan to @p engine in planning order (after the backend
/// created them). Stops at the first vGPU the rules refuse (the state changed since
/// planning); the ones before it stay committed and the error names the request.
inline Result<void> commit_batch(PlacementEngine& engine, const BatchPlan& plan,
                                 const std::vector<Request>& requests) {
  for (std::size_t i : plan.order) {
    if (!plan.items[i].result) continue;
    for (const auto& [uuid, where] : *plan.items[i].result)
      if (auto ok = engine.commit(where, uuid, requests[i].owner); !ok)
        return ok.error().with_context("request " + std::to_string(i + 1));
  }
  return {};
}

}  // namespace vgpu
