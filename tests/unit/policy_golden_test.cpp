// Each built-in policy's choice on small hand-made hosts. Every expectation is worked out from
// the policy's documented rule (reference/policies.md, policy.hpp), not read off the engine.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vgpu/catalog_io.hpp"
#include "vgpu/placement/engine.hpp"

using namespace vgpu;

namespace {

TypeRef type_named(const char* name) {
  return builtin_catalog().find_type(name).value();
}

// A fleet built by hand: GPUs added in order (their indices), vGPUs committed at explicit starts.
class Rig {
 public:
  explicit Rig(std::shared_ptr<Policy> policy) : engine(std::move(policy)) {}
  explicit Rig(const char* policy) : Rig(make_policy(policy).value()) {}

  std::uint32_t host() { return engine.add_host("host" + std::to_string(engine.host_count())); }

  GpuIndex gpu(const char* model, GpuMode mode = GpuMode::equal_size, std::uint32_t host = 0) {
    if (engine.host_count() == 0) engine.add_host("host0");
    PhysicalGpu g{
        PciAddress::from_parts(0, static_cast<std::uint8_t>(0x41 + engine.gpu_count()), 0, 0)
            .value(),
        builtin_catalog().find_model(model).value(), mode, std::nullopt, ""};
    return engine.add_gpu(g, host).value();
  }

  Uuid put(GpuIndex g, const char* type, std::uint32_t placement) {
    const Uuid u = Uuid::generate();
    auto ok = engine.commit(Placement{g, type_named(type), placement, 0}, u);
    INFO("putting " << type << " at " << placement << " on GPU " << g);
    REQUIRE(ok);
    return u;
  }

  // Where one vGPU of the request goes (GPU, start), checked against explain().
  std::pair<GpuIndex, std::uint32_t> choose(const Request& rq) {
    auto ex = engine.explain(rq);
    auto decided = engine.plan(rq);
    REQUIRE(decided);
    REQUIRE(ex.decision);
    if (!engine.policy().randomized()) {  // random draws anew for each decision
      CHECK(ex.decision->front().gpu == decided->front().gpu);
      CHECK(ex.gpus.at(decided->front().gpu).placement == decided->front().placement);
    }
    return {decided->front().gpu, decided->front().placement};
  }
  std::pair<GpuIndex, std::uint32_t> choose(const char* type) {
    return choose(Request::of(type_named(type)));
  }

  PlacementEngine engine;
};

using Choice = std::pair<GpuIndex, std::uint32_t>;

// Four A16s: GPU 0 holds 3 x 2Q, GPU 1 2 x 2Q, GPU 2 one 4Q (cannot take 2Q: equal-size),
// GPU 3 4 x 2Q. Each policy places one more A16-2Q.
Rig four_a16(const char* policy) {
  Rig r(policy);
  for (int i = 0; i < 4; ++i)
    r.gpu("A16");
  for (std::uint32_t s : {0u, 2u, 4u})
    r.put(0, "A16-2Q", s);
  for (std::uint32_t s : {0u, 2u})
    r.put(1, "A16-2Q", s);
  r.put(2, "A16-4Q", 0);
  for (std::uint32_t s : {0u, 2u, 4u, 6u})
    r.put(3, "A16-2Q", s);
  return r;
}

// Three L40S in mixed-size mode where vGPU counts and used framebuffer disagree:
// GPU 0 one 24Q (24 GiB used), GPU 1 three 2Q (6 GiB), GPU 2 two 4Q (8 GiB).
// Each policy places one L40S-4Q (starts 0 8 12 20 24 32 36 44).
Rig three_l40s(const char* policy) {
  Rig r(policy);
  for (int i = 0; i < 3; ++i)
    r.gpu("L40S", GpuMode::mixed_size);
  r.put(0, "L40S-24Q", 0);  // [0,24): the lowest free 4Q start is 24
  for (std::uint32_t s : {0u, 4u, 6u})
    r.put(1, "L40S-2Q", s);  // [0,2) [4,8): the lowest free 4Q start is 8
  for (std::uint32_t s : {0u, 8u})
    r.put(2, "L40S-4Q", s);  // [0,4) [8,12): the lowest free 4Q start is 12
  return r;
}

}  // namespace

TEST_CASE("Golden: each policy's pick among four A16s", "[policy]") {
  // Eligible for 2Q: GPU 0 (3 vGPUs, 6 GiB used, next start 6), GPU 1 (2, 4 GiB, start 4),
  // GPU 3 (4, 8 GiB, start 8). GPU 2 holds another size.
  const std::map<std::string, Choice> expected = {
      {"breadth-first", {1, 4}},   // fewest resident vGPUs
      {"depth-first", {3, 8}},     // most resident vGPUs
      {"best-fit", {3, 8}},        // leftover 16-8-2 = 6 GiB is the least
      {"spread", {1, 4}},          // (2+4)/16*10 = 3.75 is the lowest
      {"binpack", {3, 8}},         // (2+8)/16*10 = 6.25 is the highest
      {"first-fit", {0, 6}},       // lowest index that can take it
      {"gpu-clustering", {0, 6}},  // all three hold 2 GiB vGPUs: tie, lowest index
      {"gpu-packing", {0, 6}},     // all three partly used: tie, lowest index
  };
  for (const auto& [policy, choice] : expected) {
    INFO(policy);
    Rig r = four_a16(policy.c_str());
    CHECK(r.choose("A16-2Q") == choice);
  }
  Rig spread = four_a16("spread");
  CHECK(spread.engine.plan(Request::of(type_named("A16-2Q")))->front().score == Approx(3.75));
  Rig binpack = four_a16("binpack");
  CHECK(binpack.engine.plan(Request::of(type_named("A16-2Q")))->front().score == Approx(-6.25));
  // random: some eligible GPU, never GPU 2.
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    PolicyOptions o;
    o.seed = seed;
    Rig r = four_a16("first-fit");
    r.engine.set_policy(make_policy("random", o).value());
    const auto g = r.choose("A16-2Q").first;
    CHECK(g != 2);
  }
  // explain() says why GPU 2 is out.
  Rig r = four_a16("breadth-first");
  auto ex = r.engine.explain(Request::of(type_named("A16-2Q")));
  REQUIRE(ex.gpus.size() == 4);
  CHECK_FALSE(ex.gpus[2].eligible);
  CHECK_THAT(ex.gpus[2].reason, Catch::Contains("holds A16-4Q vGPUs (equal-size mode); A16-2Q "
                                                "cannot join"));
  CHECK(ex.gpus[0].score == 3);
  CHECK(ex.gpus[1].score == 2);
  CHECK(ex.gpus[3].score == 4);
}

TEST_CASE("Golden: counts, framebuffer and size tell the policies apart on L40S", "[policy]") {
  // Counts 1, 3, 2; used 24, 6, 8 GiB; only GPU 2 holds 4 GiB vGPUs.
  const std::map<std::string, Choice> expected = {
      {"breadth-first", {0, 24}},   // fewest vGPUs: GPU 0 (1)
      {"depth-first", {1, 8}},      // most vGPUs: GPU 1 (3)
      {"spread", {1, 8}},           // lowest (4+used)/48*10: GPU 1 (10/48*10)
      {"binpack", {0, 24}},         // highest: GPU 0 (28/48*10)
      {"best-fit", {0, 24}},        // least left: GPU 0 (48-24-4 = 20 GiB)
      {"first-fit", {0, 24}},       // lowest index
      {"gpu-clustering", {2, 12}},  // the GPU already holding 4 GiB vGPUs
      {"gpu-packing", {0, 24}},     // all partly used: lowest index
  };
  for (const auto& [policy, choice] : expected) {
    INFO(policy);
    Rig r = three_l40s(policy.c_str());
    CHECK(r.choose("L40S-4Q") == choice);
  }
}

TEST_CASE("Golden: gpu-clustering prefers GPUs holding the requested size", "[policy]") {
  Rig r("gpu-clustering");
  r.gpu("A16");
  r.gpu("A16");
  r.put(1, "A16-2Q", 0);
  CHECK(r.choose("A16-2Q") == Choice{1, 2});  // not the empty GPU 0
  CHECK(r.choose("A16-4Q") == Choice{0, 0});  // only GPU 0 can take 4Q
  // In mixed-size mode: a 12Q GPU and an 8Q GPU; an 8Q request joins the 8Q GPU.
  Rig m("gpu-clustering");
  m.gpu("L40S", GpuMode::mixed_size);
  m.gpu("L40S", GpuMode::mixed_size);
  m.put(0, "L40S-12Q", 0);
  m.put(1, "L40S-8Q", 0);
  CHECK(m.choose("L40S-8Q") == Choice{1, 16});
  CHECK(m.choose("L40S-12Q") == Choice{0, 12});
}

TEST_CASE("Golden: gpu-packing fills used GPUs, then busy hosts, then idle hosts", "[policy]") {
  Rig r("gpu-packing");
  r.host();
  r.host();
  r.host();
  r.gpu("A16", GpuMode::equal_size, 0);  // GPU 0, host 0 (idle)
  r.gpu("A16", GpuMode::equal_size, 0);  // GPU 1, host 0
  r.gpu("A16", GpuMode::equal_size, 1);  // GPU 2, host 1
  r.gpu("A16", GpuMode::equal_size, 1);  // GPU 3, host 1: holds a 4Q, cannot take 2Q
  r.gpu("A16", GpuMode::equal_size, 2);  // GPU 4, host 2: holds a 2Q
  r.put(3, "A16-4Q", 0);
  const Uuid on4 = r.put(4, "A16-2Q", 0);
  CHECK(r.choose("A16-2Q") == Choice{4, 2});  // the partly used GPU
  REQUIRE(r.engine.destroy(on4));
  CHECK(r.choose("A16-2Q") == Choice{2, 0});  // an empty GPU of the busy host 1
  // Host 0 becomes busy too: its empty GPU 0 now ties with GPU 2 and has the lower index.
  const Uuid on1 = r.put(1, "A16-8Q", 0);
  CHECK(r.choose("A16-2Q") == Choice{0, 0});
  auto ex = r.engine.explain(Request::of(type_named("A16-2Q")));
  CHECK(ex.gpus[0].score == 1);
  CHECK(ex.gpus[2].score == 1);
  CHECK(ex.gpus[4].score == 2);  // empty GPU of the idle host 2
  // All hosts idle again: lowest index.
  REQUIRE(r.engine.destroy(on1));
  const Uuid on3 = r.engine.gpu(3).occupants().front().uuid;
  REQUIRE(r.engine.destroy(on3));
  CHECK(r.choose("A16-2Q") == Choice{0, 0});
  ex = r.engine.explain(Request::of(type_named("A16-2Q")));
  for (const auto& v : ex.gpus)
    CHECK(v.score == 2);
}

TEST_CASE("Golden: ties go to the lowest GPU index, then the lowest start", "[policy]") {
  for (auto name : policy_names()) {
    if (name == "random") continue;
    INFO(name);
    Rig r(std::string(name).c_str());
    r.host();
    r.host();
    r.gpu("A16", GpuMode::equal_size, 0);
    r.gpu("A16", GpuMode::equal_size, 0);
    r.gpu("A16", GpuMode::equal_size, 1);
    r.gpu("A16", GpuMode::equal_size, 1);
    CHECK(r.choose("A16-4Q") == Choice{0, 0});  // four identical empty GPUs
  }
  // Equal scores on GPUs 1 and 2 (one 2Q each), GPU 0 worse for spread (two 2Q).
  Rig s("spread");
  for (int i = 0; i < 3; ++i)
    s.gpu("A16");
  s.put(0, "A16-2Q", 0);
  s.put(0, "A16-2Q", 2);
  s.put(1, "A16-2Q", 0);
  s.put(2, "A16-2Q", 0);
  CHECK(s.choose("A16-2Q") == Choice{1, 2});
  // Mixed-size, a policy blind to starts: the lowest free start (8Q: 0 16 24 40).
  Rig m("first-fit");
  m.gpu("L40S", GpuMode::mixed_size);
  m.put(0, "L40S-8Q", 0);
  CHECK(m.choose("L40S-8Q") == Choice{0, 16});
  // A start-sensitive custom policy sees every free start: preferring high starts gives 40.
  Rig high(make_scoring_policy(
      "high", [](const Candidate& c) { return -static_cast<double>(c.placement); }, true));
  high.gpu("L40S", GpuMode::mixed_size);
  high.put(0, "L40S-8Q", 0);
  CHECK(high.choose("L40S-8Q") == Choice{0, 40});
  // Equal scores for every start: the lowest.
  Rig flat(make_scoring_policy(
      "flat", [](const Candidate&) { return 1.0; }, true));
  flat.gpu("L40S", GpuMode::mixed_size);
  flat.put(0, "L40S-8Q", 0);
  CHECK(flat.choose("L40S-8Q") == Choice{0, 16});
}

TEST_CASE("Golden: custom scoring policies rank GPUs by their score", "[policy]") {
  // Prefer the GPU with the most free framebuffer, from what the Candidate shows.
  Rig r(make_scoring_policy("most-free", [](const Candidate& c) {
    return -static_cast<double>(free_framebuffer(*c.gpu).in_mib());
  }));
  for (int i = 0; i < 3; ++i)
    r.gpu("A16");
  r.put(0, "A16-1Q", 0);
  r.put(1, "A16-1Q", 0);
  r.put(1, "A16-1Q", 1);
  r.put(2, "A16-1Q", 0);
  r.put(2, "A16-1Q", 1);
  r.put(2, "A16-1Q", 2);
  CHECK(r.choose("A16-1Q") == Choice{0, 1});
  CHECK(r.engine.policy().name() == "most-free");
}

// Fragmentation-aware scores carry a best-fit tie-break of 1e-6 x free MiB after placing (at
// most ~0.1), hence the margins below.
TEST_CASE("Golden: fragmentation-aware keeps 24 GiB placements usable on L40S", "[policy]") {
  // Popularity: mostly 24 GiB, some 12 GiB; no learning so the weights stay put.
  PolicyOptions o;
  o.popularity = {{Shape::of(*type_named("L40S-24Q").type), 10},
                  {Shape::of(*type_named("L40S-12Q").type), 1}};
  o.learn = false;
  Rig r(make_policy("fragmentation-aware", o).value());
  r.gpu("L40S", GpuMode::mixed_size);  // GPU 0: empty
  r.gpu("L40S", GpuMode::mixed_size);  // GPU 1: an 8Q at 24 already blocks the upper half
  r.put(1, "L40S-8Q", 24);
  // 12Q starts: 0 12 24 36. On GPU 1, 24 overlaps the 8Q. Putting the 12Q at 0 or 12 would
  // block the lower 24Q half too (no 24Q left anywhere on GPU 1); at 36 it sits in the half
  // the 8Q already blocks. Fragmentation for 24Q on GPU 1: 16 GiB before, 4 GiB after (36),
  // 12Q's stays 4 GiB: growth -(10/11) * 12288 MiB. Any 12Q on the empty GPU 0 blocks a
  // 24Q half: growth +(10/11) * 12288 MiB.
  auto decided = r.engine.plan(Request::of(type_named("L40S-12Q")));
  REQUIRE(decided);
  CHECK(decided->front().gpu == 1);
  CHECK(decided->front().placement == 36);
  CHECK(decided->front().score == Approx(-10.0 / 11.0 * 12288).margin(0.1));
  auto ex = r.engine.explain(Request::of(type_named("L40S-12Q")));
  REQUIRE(ex.gpus.size() == 2);
  CHECK(ex.gpus[0].eligible);
  CHECK(ex.gpus[0].score == Approx(10.0 / 11.0 * 12288).margin(0.1));
  CHECK(ex.gpus[1].placement == 36);
  // first-fit, blind to this, takes GPU 0 at 0.
  r.engine.set_policy(make_policy("first-fit").value());
  CHECK(r.choose("L40S-12Q") == Choice{0, 0});
}

TEST_CASE("Golden: fragmentation-aware across models, by requirement", "[policy]") {
  SECTION("least rounding waste wins when fragmentation does not change") {
    // A 5 GiB Q need: A16-8Q (3 GiB lost to rounding) or L40S-6Q (1 GiB). Workload: that
    // need; after either placement every free GiB is still usable by it (growth 0).
    PolicyOptions o;
    o.popularity = {{Shape{Series::Q, Bytes::gib(5), false, 0}, 1}};
    o.learn = false;
    Rig r(make_policy("fragmentation-aware", o).value());
    r.gpu("A16");                        // GPU 0
    r.gpu("L40S", GpuMode::mixed_size);  // GPU 1
    TypeRequirement need;
    need.min_framebuffer = Bytes::gib(5);
    need.series = Series::Q;
    auto decided = r.engine.plan(Request::needing(need));
    REQUIRE(decided);
    CHECK(decided->front().gpu == 1);
    CHECK(decided->front().type.type->name == "L40S-6Q");
    CHECK(decided->front().placement == 0);
    CHECK(decided->front().score == Approx(1024).margin(0.1));
    auto ex = r.engine.explain(Request::needing(need));
    REQUIRE(ex.gpus[0].type);
    CHECK(ex.gpus[0].type->name == "A16-8Q");
    CHECK(ex.gpus[0].score == Approx(3072).margin(0.1));
    // best-fit takes the A16 (8 GiB left rather than 42).
    r.engine.set_policy(make_policy("best-fit").value());
    auto bf = r.engine.plan(Request::needing(need));
    REQUIRE(bf);
    CHECK(bf->front().gpu == 0);
    CHECK(bf->front().type.type->name == "A16-8Q");
  }
  SECTION("least fragmentation growth wins when rounding is equal") {
    // An 8 GiB Q need, workload all 16 GiB. On the A16 an 8Q shuts 16Q out (8 GiB becomes
    // unusable: +8192). On the L40S (16Q starts 0 and 32) an 8Q at 16 or 24 leaves both 16Q
    // starts free: fragmentation 16 GiB -> 8 GiB (-8192); at 0 or 40 it blocks one (+8192).
    PolicyOptions o;
    o.popularity = {{Shape{Series::Q, Bytes::gib(16), false, 0}, 1}};
    o.learn = false;
    Rig r(make_policy("fragmentation-aware", o).value());
    r.gpu("A16");
    r.gpu("L40S", GpuMode::mixed_size);
    TypeRequirement need;
    need.min_framebuffer = Bytes::gib(8);
    need.series = Series::Q;
    auto decided = r.engine.plan(Request::needing(need));
    REQUIRE(decided);
    CHECK(decided->front().gpu == 1);
    CHECK(decided->front().type.type->name == "L40S-8Q");
    CHECK(decided->front().placement == 16);  // ties with 24: the lower start
    CHECK(decided->front().score == Approx(-8192).margin(0.1));
    auto ex = r.engine.explain(Request::needing(need));
    CHECK(ex.gpus[0].score == Approx(8192).margin(0.1));
  }
}

TEST_CASE("Golden: gpu_milli asks for a share of each model's framebuffer", "[policy]") {
  Rig r("first-fit");
  r.gpu("A16");
  r.gpu("L40S", GpuMode::mixed_size);
  TypeRequirement need;
  need.min_framebuffer = Bytes::gib(1);
  need.series = Series::Q;
  Request rq = Request::needing(need);
  rq.gpu_milli = 250;  // a quarter: 4 GiB of an A16, 12 GiB of an L40S
  rq.constraints.allowed = {0};
  CHECK(r.engine.plan(rq)->front().type.type->name == "A16-4Q");
  rq.constraints.allowed = {1};
  CHECK(r.engine.plan(rq)->front().type.type->name == "L40S-12Q");
  rq.gpu_milli = 1000;
  CHECK(r.engine.plan(rq)->front().type.type->name == "L40S-48Q");
}
