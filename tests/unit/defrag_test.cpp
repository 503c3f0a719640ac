// Defragmentation planner, batch planning and engine copies.
#include <catch2/catch.hpp>

#include "vgpu/catalog_io.hpp"
#include "vgpu/placement/batch.hpp"
#include "vgpu/placement/defrag.hpp"

using namespace vgpu;

namespace {

TypeRef type_named(const char* name) {
  return builtin_catalog().find_type(name).value();
}

// One host of @p n GPUs of @p model in @p mode.
PlacementEngine host_of(const char* model, std::uint32_t n, GpuMode mode = GpuMode::equal_size,
                        const char* policy = "best-fit") {
  PlacementEngine e(make_policy(policy).value());
  std::vector<PhysicalGpu> gpus;
  for (std::uint32_t i = 0; i < n; ++i)
    gpus.push_back(
        PhysicalGpu{PciAddress::from_parts(0, static_cast<std::uint8_t>(0x41 + i), 0, 0).value(),
                    builtin_catalog().find_model(model).value(), mode, std::nullopt, ""});
  REQUIRE(e.add_gpus(gpus));
  return e;
}

Uuid commit_on(PlacementEngine& e, GpuIndex g, const char* type, std::uint32_t at = 0) {
  const Uuid u = Uuid::generate();
  REQUIRE(e.commit(Placement{g, type_named(type), at, 0}, u));
  return u;
}

// Per GPU: the sorted (uuid, placement) pairs; equal snapshots mean equal states.
std::vector<std::vector<std::pair<Uuid, std::uint32_t>>> snapshot(const PlacementEngine& e) {
  std::vector<std::vector<std::pair<Uuid, std::uint32_t>>> out;
  for (GpuIndex g = 0; g < e.gpu_count(); ++g) {
    std::vector<std::pair<Uuid, std::uint32_t>> v;
    for (const auto& o : e.gpu(g).occupants())
      v.emplace_back(o.uuid, o.placement);
    std::sort(v.begin(), v.end());
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

TEST_CASE("Defrag frees whole GPUs with the fewest moves and leaves the engine alone", "[defrag]") {
  auto e = host_of("A16", 4);
  for (GpuIndex g = 0; g < 4; ++g)
    commit_on(e, g, "A16-2Q");
  const auto before = snapshot(e);
  auto plan = plan_defrag(e, {});
  REQUIRE(plan);
  CHECK(snapshot(e) == before);
  CHECK(plan->moves.size() == 3);  // three 2Q join the fourth: no vGPU moves twice
  CHECK(plan->gpus_freed == 3);
  REQUIRE(apply_moves(e, plan->moves));
  CHECK(e.gpus_in_use() == 1);
  CHECK(e.vgpu_count() == 4);

  auto tight = host_of("A16", 4);
  for (GpuIndex g = 0; g < 4; ++g)
    commit_on(tight, g, "A16-2Q");
  auto one = plan_defrag(tight, DefragOptions{1, std::nullopt});
  REQUIRE(one);
  CHECK(one->moves.size() == 1);
  CHECK(one->gpus_freed == 1);
  CHECK_FALSE(plan_defrag(tight, DefragOptions{0, std::nullopt}));
}

TEST_CASE("Defrag makes room for a request, one vGPU or several on one host", "[defrag]") {
  auto e = host_of("A16", 2);
  commit_on(e, 0, "A16-2Q");
  commit_on(e, 1, "A16-2Q");
  DefragOptions room;
  room.make_room_for = Request::of(type_named("A16-16Q"));
  auto plan = plan_defrag(e, room);
  REQUIRE(plan);
  CHECK(plan->makes_room);
  CHECK(plan->moves.size() == 1);
  REQUIRE(apply_moves(e, plan->moves));
  CHECK(e.plan(*room.make_room_for));

  // Two whole L40S for one VM: both rooms are made on one host, the first held while the
  // second is made, and every move applies to the real engine in order.
  auto l = host_of("L40S", 3);
  for (GpuIndex g = 0; g < 3; ++g)
    commit_on(l, g, "L40S-8Q");
  room.make_room_for = Request::of(type_named("L40S-48Q"), 2);
  auto two = plan_defrag(l, room);
  REQUIRE(two);
  CHECK(two->makes_room);
  CHECK(two->moves.size() == 2);
  REQUIRE(apply_moves(l, two->moves));
  auto placed = l.plan(*room.make_room_for);
  REQUIRE(placed);
  CHECK(placed->size() == 2);

  // Nothing to gain: the request fits already; or cannot fit at all.
  room.make_room_for = Request::of(type_named("L40S-8Q"));
  auto none = plan_defrag(l, room);
  REQUIRE(none);
  CHECK(none->moves.empty());
  CHECK(none->makes_room);
  room.make_room_for = Request::of(type_named("A16-2Q"));
  CHECK(plan_defrag(l, room).error().code() == Errc::no_capacity);
  room.make_room_for = Request::of(type_named("L40S-8Q"), 0);
  CHECK(plan_defrag(l, room).error().code() == Errc::invalid_argument);
  room.make_room_for = Request{};
  room.make_room_for->type = TypeRef{};
  CHECK(plan_defrag(l, room).error().code() == Errc::invalid_argument);
}

TEST_CASE("apply_moves refuses a move that no longer matches the state", "[defrag]") {
  auto e = host_of("A16", 2);
  const Uuid u = commit_on(e, 0, "A16-2Q");
  CHECK(apply_moves(e, {Move{u, 1, 0, 0}}).error().code() == Errc::conflict);  // not on GPU 1
  CHECK(apply_moves(e, {Move{Uuid::generate(), 0, 1, 0}}).error().code() == Errc::conflict);
  commit_on(e, 1, "A16-4Q");
  auto refused = apply_moves(e, {Move{u, 0, 1, 4}});  // 2Q cannot join 4Q vGPUs
  REQUIRE_FALSE(refused);
  CHECK(e.gpu_of(u) == 0u);  // put back where it was
}

TEST_CASE("Batch plans largest first on a copy and commits in planning order", "[batch]") {
  auto e = host_of("A16", 2);
  const std::vector<Request> requests = {Request::of(type_named("A16-1Q")),
                                         Request::of(type_named("A16-16Q")),
                                         Request::of(type_named("A16-16Q"))};
  const auto before = snapshot(e);
  auto in_order = plan_batch(e, requests, BatchOptions{false});
  CHECK(in_order.placed == 2);  // the 1Q takes a GPU first, so one 16Q is refused
  auto plan = plan_batch(e, requests);
  CHECK(snapshot(e) == before);
  CHECK(plan.placed == 2);
  CHECK(plan.order == std::vector<std::size_t>{1, 2, 0});
  CHECK(plan.items[1].result);
  CHECK(plan.items[2].result);
  CHECK_FALSE(plan.items[0].result);  // both GPUs hold a 16Q: no room for the 1Q
  REQUIRE(commit_batch(e, plan, requests));
  CHECK(e.vgpu_count() == 2);
}

TEST_CASE("An engine copy has its own policy state", "[engine]") {
  PlacementEngine e(make_policy("fragmentation-aware").value());
  REQUIRE(e.add_gpu(PhysicalGpu{PciAddress::parse("0000:41:00.0").value(),
                                builtin_catalog().find_model("L40S").value(), GpuMode::mixed_size,
                                std::nullopt, ""}));
  PlacementEngine copy = e;
  REQUIRE(copy.plan(Request::of(type_named("L40S-12Q"))));  // teaches the copy's policy
  auto* mine = dynamic_cast<policies::FragmentationAware*>(&e.policy());
  auto* theirs = dynamic_cast<policies::FragmentationAware*>(&copy.policy());
  REQUIRE(mine);
  REQUIRE(theirs);
  CHECK(mine != theirs);
  CHECK(mine->weights().empty());
  CHECK(theirs->weights().size() == 1);
  CHECK(e.validate(Request::of(type_named("L40S-12Q"))));
  TypeRef foreign{builtin_catalog().find_model("A16").value(), type_named("L40S-12Q").type};
  CHECK(e.validate(Request::of(foreign)).error().code() == Errc::invalid_argument);
}
