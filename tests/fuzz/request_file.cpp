// Request files for `vgpuctl plan` (docs/policies.md): parse_requests() on arbitrary text,
// against the built-in catalog and the built-in simulated host with a few vGPUs on it.
// Invariants: errors follow the rules; parsed requests keep the documented rules (count 1 to
// 4096, a type or a requirement, a placement only for one vGPU); and each request the engine
// can plan is a valid decision: count placements on allowed, not denied, GPUs (distinct when
// asked), at the requested slot, which commit without error.
#include <algorithm>
#include <array>
#include <string>

#include "fuzz_support.hpp"
#include "vgpu/catalog_io.hpp"
#include "vgpu/host.hpp"
#include "vgpu/placement/request_file.hpp"

namespace {

vgpu::Uuid uuid_number(std::uint32_t n) {
  std::array<std::uint8_t, 16> b{};
  b[0] = 0xf0;
  b[12] = static_cast<std::uint8_t>(n >> 24);
  b[13] = static_cast<std::uint8_t>(n >> 16);
  b[14] = static_cast<std::uint8_t>(n >> 8);
  b[15] = static_cast<std::uint8_t>(n);
  return vgpu::Uuid(b);
}

// The built-in host (4x A16, 2x L40S mixed-size, 1x A100 MIG) holding 2x A16-4Q, an
// L40S-12Q for vm-1 and an A100D-3-40C: a fresh engine each time, so that every input
// starts from the same state.
vgpu::PlacementEngine make_engine() {
  using namespace vgpu;
  const TypeCatalog& catalog = builtin_catalog();
  PlacementEngine engine(make_policy("fragmentation-aware").value());
  if (!engine.add_gpus(default_host(catalog).value().gpus)) std::abort();
  std::uint32_t n = 0;
  for (const char* type : {"A16-4Q", "A16-4Q", "L40S-12Q", "A100D-3-40C"}) {
    Request r = Request::of(catalog.find_type(type).value());
    r.owner = "vm-1";
    if (!engine.place(r, {uuid_number(++n)})) std::abort();
  }
  return engine;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vgpu;
  const TypeCatalog& catalog = builtin_catalog();
  static const PlacementEngine base = make_engine();
  auto requests = parse_requests(fuzz::text(data, size), "fuzz.json", catalog, base);
  if (!requests) {
    FUZZ_CHECK_ERROR(requests.error());
    return 0;
  }
  FUZZ_CHECK(!requests->empty(), "an empty request list parsed");
  PlacementEngine engine = make_engine();
  std::uint32_t next = 1000;
  for (const Request& rq : *requests) {
    FUZZ_CHECK(rq.count >= 1 && rq.count <= 4096, "count out of range");
    FUZZ_CHECK(!rq.constraints.placement || rq.count == 1, "a placement for several vGPUs");
    for (GpuIndex g : rq.constraints.allowed)
      FUZZ_CHECK(g < engine.gpu_count(), "an allowed GPU the engine does not have");
    auto plan = engine.plan(rq);
    if (!plan) {
      FUZZ_CHECK_ERROR(plan.error(), true);
      continue;
    }
    FUZZ_CHECK(plan->size() == rq.count, "a plan with another number of vGPUs than asked");
    std::vector<GpuIndex> used;
    for (const Placement& p : *plan) {
      const auto& c = rq.constraints;
      FUZZ_CHECK(p.gpu < engine.gpu_count() && p.type.type != nullptr, "a plan off the host");
      FUZZ_CHECK(c.allowed.empty() ||
                     std::find(c.allowed.begin(), c.allowed.end(), p.gpu) != c.allowed.end(),
                 "a plan on a GPU that is not allowed");
      FUZZ_CHECK(std::find(c.denied.begin(), c.denied.end(), p.gpu) == c.denied.end(),
                 "a plan on a denied GPU");
      FUZZ_CHECK(!c.placement || p.placement == *c.placement, "a plan at another slot");
      FUZZ_CHECK(!rq.type || p.type.type->name == rq.type->type->name, "a plan of another type");
      FUZZ_CHECK(!(c.distinct_gpus && std::count(used.begin(), used.end(), p.gpu)),
                 "two vGPUs of one request on one GPU");
      used.push_back(p.gpu);
    }
    // The decision holds: committing it breaks no hardware rule.
    for (const Placement& p : *plan) {
      auto ok = engine.commit(p, uuid_number(++next), rq.owner);
      FUZZ_CHECK(ok.has_value(), "a planned vGPU does not commit: " + ok.error().message());
    }
  }
  return 0;
}
