// The hardware rules of one GPU: equal-size, mixed-size placements, MIG, mode switches.
#include <catch2/catch.hpp>

#include "vgpu/catalog_io.hpp"
#include "vgpu/placement/engine.hpp"

using namespace vgpu;

namespace {

GpuOccupancy make_gpu(const char* model, GpuMode mode, OccupancyOptions rules = {}) {
  PhysicalGpu g{*PciAddress::parse("0000:41:00.0"),
                builtin_catalog().find_model(model).value(),
                mode,
                {},
                {}};
  return GpuOccupancy(g, rules);
}

const VgpuType& type(const char* name) {
  return *builtin_catalog().find_type(name)->type;
}

}  // namespace

TEST_CASE("Equal-size mode: one framebuffer size per GPU, per-type maximum", "[occupancy]") {
  auto gpu = make_gpu("A16", GpuMode::equal_size);
  for (int i = 0; i < 8; ++i)
    REQUIRE(gpu.add(Uuid::generate(), type("A16-2Q")));
  CHECK(gpu.used_framebuffer() == Bytes::gib(16));
  auto full = gpu.add(Uuid::generate(), type("A16-2Q"));
  REQUIRE_FALSE(full);
  CHECK(full.error().code() == Errc::no_capacity);
  CHECK(full.error().message() ==
        "GPU 0000:41:00.0 already holds the maximum of 8 A16-2Q vGPUs (equal-size mode)");

  auto other = make_gpu("A16", GpuMode::equal_size);
  REQUIRE(other.add(Uuid::generate(), type("A16-2Q")));
  auto bigger = other.add(Uuid::generate(), type("A16-4Q"));
  REQUIRE_FALSE(bigger);
  CHECK(bigger.error().message() ==
        "GPU 0000:41:00.0 holds A16-2Q vGPUs (equal-size mode); A16-4Q cannot join");
  CHECK(other.remaining(type("A16-2Q")) == 7);
  CHECK(other.remaining(type("A16-4Q")) == 0);
  CHECK(other.free_placements(type("A16-2Q")).front() == 2);
}

TEST_CASE("Equal-size mode: same-size A/B/Q types share, but C and strict mode do not", "[occupancy]") {
  auto gpu = make_gpu("A16", GpuMode::equal_size);
  REQUIRE(gpu.add(Uuid::generate(), type("A16-2Q")));
  CHECK(gpu.add(Uuid::generate(), type("A16-2B")));
  CHECK(gpu.add(Uuid::generate(), type("A16-2A")));
  // Same-size vGPUs of all series count together against the maximum of 8.
  CHECK(gpu.remaining(type("A16-2B")) == 5);

  auto compute = make_gpu("A16", GpuMode::equal_size);
  REQUIRE(compute.add(Uuid::generate(), type("A16-4C")));
  CHECK_FALSE(compute.add(Uuid::generate(), type("A16-4Q")));

  auto strict = make_gpu("A16", GpuMode::equal_size, OccupancyOptions{true});
  REQUIRE(strict.add(Uuid::generate(), type("A16-2Q")));
  auto refused = strict.add(Uuid::generate(), type("A16-2B"));
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message(), Catch::Contains("A16-2B cannot join"));
}

TEST_CASE("Mixed-size mode: sizes coexist at published placements without overlap", "[occupancy]") {
  auto gpu = make_gpu("L40S", GpuMode::mixed_size);
  // L40S-24Q may start at 0 or 24; L40S-8Q at 0 16 24 40; L40S-4Q at 0 8 12 20 24 32 36 44.
  CHECK(gpu.add(Uuid::generate(), type("L40S-24Q")).value() == 0);
  CHECK(gpu.add(Uuid::generate(), type("L40S-8Q")).value() == 24);
  CHECK(gpu.add(Uuid::generate(), type("L40S-4Q")).value() == 32);
  CHECK(gpu.free_placements(type("L40S-4Q")) == std::vector<std::uint32_t>{36, 44});
  CHECK(gpu.free_placements(type("L40S-8Q")) == std::vector<std::uint32_t>{40});
  auto taken = gpu.add(Uuid::generate(), type("L40S-4Q"), 32);
  REQUIRE_FALSE(taken);
  CHECK(taken.error().code() == Errc::no_capacity);
  CHECK_THAT(taken.error().message(),
             Catch::Contains("overlaps vGPU") && Catch::Contains("L40S-4Q at 32"));
  auto not_allowed = gpu.add(Uuid::generate(), type("L40S-4Q"), 40);
  REQUIRE_FALSE(not_allowed);
  CHECK(not_allowed.error().code() == Errc::invalid_argument);
  CHECK_THAT(not_allowed.error().message(), Catch::Contains("allowed: 0 8 12 20 24 32 36 44"));
  CHECK(gpu.add(Uuid::generate(), type("L40S-4Q"), 44).value() == 44);
  auto no_room = gpu.add(Uuid::generate(), type("L40S-24Q"));
  REQUIRE_FALSE(no_room);
  CHECK_THAT(no_room.error().message(), Catch::Contains("has no free placement for L40S-24Q"));
}

TEST_CASE("Mixed-size maxima are lower than equal-size ones for some types", "[occupancy]") {
  auto mixed = make_gpu("L40S", GpuMode::mixed_size);
  auto equal = make_gpu("L40S", GpuMode::equal_size);
  int in_mixed = 0, in_equal = 0;
  while (mixed.add(Uuid::generate(), type("L40S-1B")))
    ++in_mixed;
  while (equal.add(Uuid::generate(), type("L40S-1B")))
    ++in_equal;
  CHECK(in_mixed == 16);  // Ada: 16 placements for 1 GiB
  CHECK(in_equal == 32);
  auto a40 = make_gpu("A40", GpuMode::mixed_size);
  int a40_1b = 0;
  while (a40.add(Uuid::generate(), type("A40-1B")))
    ++a40_1b;
  CHECK(a40_1b == 30);  // the placement table's count (the guide prints 32)
}

TEST_CASE("MIG mode: GPU instances at fixed {start,size}, no time-sliced vGPUs", "[occupancy]") {
  auto gpu = make_gpu("A100 PCIe 80GB", GpuMode::mig);
  CHECK(gpu.add(Uuid::generate(), type("A100D-3-40C")).value() == 0);
  CHECK(gpu.add(Uuid::generate(), type("A100D-2-20C")).value() == 4);
  CHECK(gpu.add(Uuid::generate(), type("A100D-1-10C")).value() == 6);
  // Slice 7 is free, but no 1g profile may start there ({0..6}).
  CHECK(gpu.remaining(type("A100D-1-10C")) == 0);
  CHECK(gpu.add(Uuid::generate(), type("A100D-1-10C")).error().code() == Errc::no_capacity);
  auto sliced = gpu.add(Uuid::generate(), type("A100D-20C"));
  REQUIRE_FALSE(sliced);
  CHECK(sliced.error().code() == Errc::not_supported);
  CHECK(sliced.error().message() ==
        "GPU 0000:41:00.0 is in MIG mode; A100D-20C is time-sliced and needs equal- or mixed-size "
        "mode");
  auto me = make_gpu("A100 PCIe 80GB", GpuMode::mig);
  CHECK(me.free_placements(type("A100D-1-10CME")).size() == 7);
  CHECK(me.remaining(type("A100D-1-10CME")) == 1);  // seven starts, but one +me per GPU
  REQUIRE(me.add(Uuid::generate(), type("A100D-1-10CME")));
  CHECK(me.remaining(type("A100D-1-10CME")) == 0);
  CHECK_FALSE(me.add(Uuid::generate(), type("A100D-1-10CME")));  // one +me instance per GPU
  auto sliced_gpu = make_gpu("A100 PCIe 80GB", GpuMode::equal_size);
  CHECK(sliced_gpu.add(Uuid::generate(), type("A100D-3-40C")).error().code() ==
        Errc::not_supported);
}

TEST_CASE("Mode changes only on an empty GPU that supports the mode", "[occupancy]") {
  auto gpu = make_gpu("A16", GpuMode::equal_size);
  REQUIRE(gpu.set_mode(GpuMode::mixed_size));
  const Uuid u = Uuid::generate();
  REQUIRE(gpu.add(u, type("A16-4Q")));
  auto busy = gpu.set_mode(GpuMode::equal_size);
  REQUIRE_FALSE(busy);
  CHECK(busy.error().code() == Errc::busy);
  REQUIRE(gpu.remove(u));
  CHECK(gpu.remove(u).error().code() == Errc::not_found);
  REQUIRE(gpu.set_mode(GpuMode::equal_size));
  CHECK(gpu.set_mode(GpuMode::mig).error().code() == Errc::not_supported);
  auto t4 = make_gpu("T4", GpuMode::equal_size);
  CHECK(t4.set_mode(GpuMode::mixed_size).error().message() ==
        "Tesla T4 does not support mixed-size mode");
}

TEST_CASE("Types of another model and duplicate UUIDs are refused", "[occupancy]") {
  auto gpu = make_gpu("A16", GpuMode::equal_size);
  auto wrong = gpu.add(Uuid::generate(), type("L4-2Q"));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message() == "GPU 0000:41:00.0 (NVIDIA A16) does not support L4-2Q");
  const Uuid u = Uuid::generate();
  REQUIRE(gpu.add(u, type("A16-1Q")));
  CHECK(gpu.add(u, type("A16-1Q")).error().code() == Errc::conflict);
}

TEST_CASE("The first-fit policy takes the lowest address and explains refusals", "[occupancy]") {
  PlacementEngine engine(*make_policy("first-fit"));
  std::vector<PhysicalGpu> gpus;
  for (const char* a : {"0000:42:00.0", "0000:41:00.0"})
    gpus.push_back(PhysicalGpu{*PciAddress::parse(a),
                               builtin_catalog().find_model("A16").value(),
                               GpuMode::equal_size,
                               {},
                               {}});
  gpus.push_back(PhysicalGpu{*PciAddress::parse("0000:81:00.0"),
                             builtin_catalog().find_model("L4").value(),
                             GpuMode::equal_size,
                             {},
                             {}});
  REQUIRE(engine.add_gpus(gpus));
  const TypeRef two_q = *builtin_catalog().find_type("A16-2Q");
  const TypeRef four_q = *builtin_catalog().find_type("A16-4Q");
  auto d = engine.plan(Request::of(two_q));
  REQUIRE(d);
  CHECK(engine.gpu(d->front().gpu).gpu().address.to_string() == "0000:41:00.0");
  REQUIRE(engine.commit(d->front(), Uuid::generate()));
  CHECK(engine.gpu_name(engine.plan(Request::of(four_q))->front().gpu) == "0000:42:00.0");
  REQUIRE(engine.place(Request::of(two_q, 2)));  // a VM's two vGPUs: one on each A16
  auto none = engine.plan(Request::of(four_q));
  REQUIRE_FALSE(none);
  CHECK(none.error().code() == Errc::no_capacity);
  CHECK(none.error().message() ==
        "no room for 1 x A16-4Q:\n"
        "  - GPU 0000:41:00.0 holds A16-2Q vGPUs (equal-size mode); A16-4Q cannot join\n"
        "  - GPU 0000:42:00.0 holds A16-2Q vGPUs (equal-size mode); A16-4Q cannot join\n"
        "  - GPU 0000:81:00.0 (NVIDIA L4): A16-4Q is a type of NVIDIA A16");
  Request only = Request::of(two_q);
  only.constraints.allowed = {7};
  CHECK(engine.plan(only).error().code() == Errc::not_found);
}
