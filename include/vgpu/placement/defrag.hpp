/// @file
/// @brief Defragmentation planner: live migrations that make room for a request, or that
/// free whole GPUs, each valid in the state the moves before it leave.
///
/// The planner works on a copy of the engine and never changes the one it is given. Plans are
/// greedy (finding the shortest plan is NP-hard: it contains bin packing):
/// - make room: every (GPU, placement) where the request's type could go once some resident
///   vGPUs left is ranked by how many would have to leave, fewest first; the first whose
///   evicted vGPUs all find another GPU (with the engine's policy, never the GPU being cleared)
///   wins. For a multi-vGPU request this repeats on the host of the first room.
/// - free GPUs: the GPUs holding the fewest vGPUs (then the least framebuffer) are emptied
///   first, their vGPUs moving only to GPUs that stay in use, while the budget lasts.
///
/// Thread safety: as PlacementEngine (none).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "vgpu/error.hpp"
#include "vgpu/placement/engine.hpp"

namespace vgpu {

/// What the planner should achieve.
struct DefragOptions {
  /// At most this many migrations.
  std::size_t budget = 16;
  /// Make room for this request (which fails now); when empty, free as many whole GPUs as
  /// the budget allows.
  std::optional<Request> make_room_for;
};

/// A defragmentation plan.
struct DefragPlan {
  std::vector<Move> moves;     ///< In order; each valid after the ones before it.
  std::size_t gpus_freed = 0;  ///< GPUs left empty by the moves.
  bool makes_room = false;     ///< With make_room_for: the request fits after the moves.
};

namespace detail {

// One resident vGPU, as the planner moves it.
struct Resident {
  Uuid uuid;
  const VgpuType* type = nullptr;
  std::uint32_t placement = 0;
  std::string owner;
};

inline std::vector<Resident> residents(PlacementEngine& e, GpuIndex g) {
  std::vector<Resident> out;
  for (const auto& o : e.gpu(g).occupants())
    out.push_back(Resident{o.uuid, o.type, o.placement, e.owner_of(o.uuid)});
  return out;
}

// Moves @p r (now on @p from) to a GPU among @p allowed (any but @p from when empty) chosen by
// the engine's policy. On failure the vGPU stays where it was.
inline std::optional<Move> relocate(PlacementEngine& e, const Resident& r, GpuIndex from,
                                    const std::vector<GpuIndex>& allowed,
                                    const std::vector<GpuIndex>& denied) {
  const auto& model = e.gpu(from).gpu().model;
  if (!e.destroy(r.uuid)) return std::nullopt;
  Request rq = Request::of(TypeRef{model, r.type});
  rq.owner = r.owner;
  rq.constraints.allowed = allowed;
  rq.constraints.denied = denied;
  rq.constraints.denied.push_back(from);
  rq.constraints.distinct_gpus = true;
  auto p = e.probe(rq);
  if (p && e.commit(p->front(), r.uuid, r.owner)) {
    return Move{r.uuid, from, p->front().gpu, p->front().placement};
  }
  (void)e.commit(Placement{from, TypeRef{model, r.type}, r.placement, 0}, r.uuid, r.owner);
  return std::nullopt;
}

// Undoes @p moves on @p e, last first; @p evicted[i] is the vGPU moves[i] moved, as it was
// before (its original placement: Move::placement is the new one).
inline void undo(PlacementEngine& e, const std::vector<Move>& moves,
                 const std::vector<Resident>& evicted) {
  for (std::size_t i = moves.size(); i-- > 0;) {
    const Move& m = moves[i];
    (void)e.destroy(m.uuid);
    // The original placement is free again: everything after this move was undone first.
    const auto& model = e.gpu(m.from).gpu().model;
    (void)e.commit(Placement{m.from, TypeRef{model, evicted[i].type}, evicted[i].placement, 0},
                   m.uuid, evicted[i].owner);
  }
}

}  // namespace detail

/// Applies @p moves in order (after the backend migrated each vGPU). Stops at the first move
/// that the rules refuse; the moves before it stay applied and the error names the move.
inline Result<void> apply_moves(PlacementEngine& engine, const std::vector<Move>& moves) {
  for (std::size_t i = 0; i < moves.size(); ++i) {
    const Move& m = moves[i];
    auto at = engine.gpu_of(m.uuid);
    auto step = [&](std::string what) {
      return fail(Errc::conflict, "move " + std::to_string(i + 1) + " of " +
                                      std::to_string(moves.size()) + " (vGPU " +
                                      m.uuid.to_string() + "): " + what);
    };
    if (!at) return step("no such vGPU");
    if (*at != m.from)
      return step("it is on GPU " + engine.gpu_name(*at) + ", not " + engine.gpu_name(m.from));
    if (m.to >= engine.gpu_count()) return step("no target GPU " + std::to_string(m.to));
    const VgpuType* type = nullptr;
    std::uint32_t old_placement = 0;
    for (const auto& o : engine.gpu(m.from).occupants())
      if (o.uuid == m.uuid) {
        type = o.type;
        old_placement = o.placement;
      }
    const auto model = engine.gpu(m.from).gpu().model;
    const std::string owner = engine.owner_of(m.uuid);
    if (auto ok = engine.destroy(m.uuid); !ok) return step(ok.error().message());
    const auto& to_model = engine.gpu(m.to).gpu().model;
    const VgpuType* own = to_model->find_type(type->name);
    if (!own) {
      (void)engine.commit(Placement{m.from, TypeRef{model, type}, old_placement, 0}, m.uuid, owner);
      return step(engine.gpu_name(m.to) + " does not support " + type->name);
    }
    const Placement p{m.to, TypeRef{to_model, own}, m.placement, 0};
    if (auto ok = engine.commit(p, m.uuid, owner); !ok) {
      (void)engine.commit(Placement{m.from, TypeRef{model, type}, old_placement, 0}, m.uuid, owner);
      return step(ok.error().message());
    }
  }
  return {};
}

/// Plans migrations (see the file comment). @p engine is left as it was (its score caches
/// aside). Fails with Errc::invalid_argument for a budget of 0 or a bad request, and with
/// Errc::no_capacity when no plan within the budget makes room for the request.
inline Result<DefragPlan> plan_defrag(PlacementEngine& engine, const DefragOptions& options) {
  if (options.budget == 0)
    return fail(Errc::invalid_argument, "the migration budget must be at least 1");
  PlacementEngine work = engine;
  DefragPlan plan;
  const std::size_t in_use_before = work.gpus_in_use();

  if (options.make_room_for) {
    Request rq = *options.make_room_for;
    if (auto bad = work.validate(rq); !bad) return bad.error();
    if (work.probe(rq)) {
      plan.makes_room = true;
      return plan;
    }
    std::optional<std::uint32_t> host;
    // Rooms already made for earlier vGPUs of the request are held by stand-in vGPUs, which
    // are never moved and are removed before each check of the whole request.
    std::vector<std::pair<Uuid, Placement>> held;
    auto fits = [&] {
      for (const auto& [u, p] : held)
        (void)work.destroy(u);
      const bool ok = work.probe(rq).has_value();
      for (const auto& [u, p] : held)
        (void)work.commit(p, u);
      return ok;
    };
    auto is_held = [&](const Uuid& u) {
      return std::any_of(held.begin(), held.end(), [&](const auto& h) { return h.first == u; });
    };
    for (std::uint32_t round = 0; round < rq.count && plan.moves.size() < options.budget; ++round) {
      // Rooms: (evictions, gpu, placement, the vGPUs to evict).
      struct Room {
        std::size_t cost;
        GpuIndex gpu;
        std::uint32_t placement;
        std::vector<detail::Resident> evict;
      };
      std::vector<Room> rooms;
      for (GpuIndex g = 0; g < work.gpu_count(); ++g) {
        if (host && work.host_of(g) != *host) continue;
        if (!work.exclusion(g, rq).empty()) continue;
        const VgpuType* t = work.type_for(rq, g);
        const GpuOccupancy& occ = work.gpu(g);
        if (!t || occ.gpu().model->find_type(t->name) != t) continue;
        if ((occ.gpu().mode == GpuMode::mig) != t->is_mig_backed()) continue;
        if (occ.gpu().mode == GpuMode::mixed_size && t->max_instances_mixed == 0) continue;
        if (occ.can_create(*t)) continue;  // free already: another constraint blocks
        const auto all = detail::residents(work, g);
        // In equal-size mode a GPU of another size (or type, where types may not share) must
        // be emptied; otherwise only the vGPUs overlapping the chosen placement leave.
        bool must_empty = false;
        if (occ.gpu().mode == GpuMode::equal_size) {
          const auto& front = *occ.occupants().front().type;
          const bool joins =
              front.framebuffer == t->framebuffer &&
              (front.name == t->name || (!occ.options().one_type_per_gpu &&
                                         front.series != Series::C && t->series != Series::C));
          if (!joins) must_empty = true;
        }
        if (must_empty) {
          rooms.push_back(Room{all.size(), g, 0, all});
          continue;
        }
        occ.for_each_start(*t, [&](std::uint32_t s) {
          std::vector<detail::Resident> evict;
          for (const auto& r : all)
            if (s < r.placement + r.type->placement_size && r.placement < s + t->placement_size)
              evict.push_back(r);
          if (evict.empty()) {
            // Blocked by the per-type maximum: one vGPU of the same budget must go (in
            // equal-size mode the budget is per size, otherwise per type).
            const bool per_size = occ.gpu().mode == GpuMode::equal_size;
            for (const auto& r : all)
              if (r.type == t || (per_size && r.type->framebuffer == t->framebuffer)) {
                evict.push_back(r);
                break;
              }
          }
          if (!evict.empty()) rooms.push_back(Room{evict.size(), g, s, std::move(evict)});
          return true;
        });
      }
      // A room that would evict a stand-in is no room.
      std::erase_if(rooms, [&](const Room& r) {
        return std::any_of(r.evict.begin(), r.evict.end(),
                           [&](const detail::Resident& x) { return is_held(x.uuid); });
      });
      std::sort(rooms.begin(), rooms.end(), [](const Room& a, const Room& b) {
        return std::tie(a.cost, a.gpu, a.placement) < std::tie(b.cost, b.gpu, b.placement);
      });
      bool made = false;
      std::size_t tried = 0;
      for (const auto& room : rooms) {
        if (plan.moves.size() + room.cost > options.budget) continue;
        if (++tried > 64) break;
        std::vector<Move> moves;
        bool ok = true;
        for (const auto& r : room.evict) {
          auto m = detail::relocate(work, r, room.gpu, {}, {room.gpu});
          if (!m) {
            ok = false;
            break;
          }
          moves.push_back(*m);
        }
        const std::vector<detail::Resident> evicted(room.evict.begin(),
                                                    room.evict.begin() + moves.size());
        if (ok) {
          Request one = rq;
          one.count = 1;
          one.constraints.allowed = {room.gpu};
          ok = work.probe(one).has_value();
        }
        if (!ok) {
          detail::undo(work, moves, evicted);
          continue;
        }
        plan.moves.insert(plan.moves.end(), moves.begin(), moves.end());
        host = work.host_of(room.gpu);
        made = true;
        break;
      }
      if (!made) break;
      if (fits()) {
        plan.makes_room = true;
        break;
      }
      if (rq.count == 1) break;
      // Hold the room just made so the next round makes another one.
      Request one = rq;
      one.count = 1;
      one.constraints.host = host;
      if (auto p = work.probe(one)) {
        const Uuid u = Uuid::generate();
        if (work.commit(p->front(), u)) held.emplace_back(u, p->front());
      }
    }
    if (!plan.makes_room)
      return fail(Errc::no_capacity,
                  "no plan of at most " + std::to_string(options.budget) +
                      " migrations makes room for the request; raise the budget or add GPUs");
    plan.gpus_freed = 0;
    return plan;
  }

  // Free whole GPUs: again and again, empty the GPU holding the fewest vGPUs (then the least
  // framebuffer) onto GPUs that stay in use, packing them best-fit. A GPU that received a
  // vGPU is kept, so no vGPU moves twice.
  if (!work.policy().placement_sensitive()) work.set_policy(std::make_shared<policies::BestFit>());
  enum : char { open, cleared, kept, failed };
  std::vector<char> state(work.gpu_count(), open);
  for (;;) {
    std::optional<GpuIndex> next;
    for (GpuIndex g = 0; g < work.gpu_count(); ++g) {
      const auto& x = work.gpu(g);
      if (state[g] != open || x.empty() ||
          plan.moves.size() + x.occupants().size() > options.budget)
        continue;
      if (!next || std::make_tuple(x.occupants().size(), x.used_framebuffer().count()) <
                       std::make_tuple(work.gpu(*next).occupants().size(),
                                       work.gpu(*next).used_framebuffer().count()))
        next = g;
    }
    if (!next) break;
    const GpuIndex g = *next;
    // Targets: GPUs that stay in use (moving to an empty GPU frees nothing).
    std::vector<GpuIndex> targets;
    for (GpuIndex t = 0; t < work.gpu_count(); ++t)
      if (t != g && state[t] != cleared && !work.gpu(t).empty()) targets.push_back(t);
    if (targets.empty()) {
      state[g] = failed;
      continue;
    }
    std::vector<Move> moves;
    std::vector<detail::Resident> evicted;
    bool ok = true;
    for (const auto& r : detail::residents(work, g)) {
      auto m = detail::relocate(work, r, g, targets, {});
      if (!m) {
        ok = false;
        break;
      }
      moves.push_back(*m);
      evicted.push_back(r);
    }
    if (!ok) {
      detail::undo(work, moves, evicted);
      state[g] = failed;
      continue;
    }
    state[g] = cleared;
    for (const auto& m : moves)
      state[m.to] = kept;
    plan.moves.insert(plan.moves.end(), moves.begin(), moves.end());
  }
  plan.gpus_freed = in_use_before - work.gpus_in_use();
  return plan;
}

}  // namespace vgpu
