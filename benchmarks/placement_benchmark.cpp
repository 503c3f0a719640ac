// Catalog look-ups and the placement engine at 16, 1,000 and 100,000 GPUs, per policy.
// Run: build/default/benchmarks/vgpu_benchmarks --benchmark_repetitions=9
//      --benchmark_report_aggregates_only=true   (docs/benchmarks.md has the figures)
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "vgpu/catalog_io.hpp"
#include "vgpu/placement/engine.hpp"

namespace {

void BM_ParseBuiltinCatalog(benchmark::State& state) {
  // What builtin_catalog() costs the first time: parse and validate every embedded file.
  const auto& models = vgpu::builtin_catalog().models();
  std::vector<std::string> files;
  for (const auto& m : models)
    files.push_back(vgpu::to_catalog_json(*m));
  for (auto _ : state) {
    vgpu::TypeCatalog c;
    for (const auto& f : files)
      benchmark::DoNotOptimize(vgpu::load_catalog_text(c, f, "bench"));
  }
  state.counters["types"] = static_cast<double>(vgpu::builtin_catalog().type_count());
}
BENCHMARK(BM_ParseBuiltinCatalog)->Unit(benchmark::kMillisecond);

void BM_FindTypeByName(benchmark::State& state) {
  const auto& c = vgpu::builtin_catalog();
  for (auto _ : state)
    benchmark::DoNotOptimize(c.find_type("NVIDIA A16-2Q"));
}
BENCHMARK(BM_FindTypeByName);

// The fleet: hosts of 16 GPUs (8 A16 and 4 L4 in equal-size mode, 4 L40S in mixed-size
// mode); a 16-GPU fleet is one such host. Filled to about 60% of its framebuffer with a
// seeded mix of desktop and compute types, so decisions see partly used GPUs of many kinds.
const std::vector<std::string>& workload_types() {
  static const std::vector<std::string> types = {
      "A16-1Q",  "A16-2Q",  "A16-4Q",   "A16-8Q",   "L4-2Q",    "L4-4Q",  "L4-6Q",  "L4-12Q",
      "L40S-4Q", "L40S-8Q", "L40S-12Q", "L40S-24Q", "L40S-48C", "L4-24C", "A16-16Q"};
  return types;
}

struct Fleet {
  std::unique_ptr<vgpu::PlacementEngine> engine;
  std::vector<vgpu::TypeRef> types;
  std::vector<vgpu::TypeRef> fitting;  // the types that still fit after the fill
};

Fleet make_fleet(const std::string& policy, std::size_t gpus) {
  const auto& c = vgpu::builtin_catalog();
  Fleet f;
  f.engine = std::make_unique<vgpu::PlacementEngine>(*vgpu::make_policy(policy));
  for (const auto& name : workload_types())
    f.types.push_back(*c.find_type(name));
  const auto a16 = *c.find_model("A16");
  const auto l4 = *c.find_model("L4");
  const auto l40s = *c.find_model("L40S");
  for (std::size_t h = 0; h * 16 < gpus; ++h) {
    const auto host = f.engine->add_host("host" + std::to_string(h));
    for (std::uint32_t i = 0; i < 16 && h * 16 + i < gpus; ++i) {
      vgpu::PhysicalGpu g;
      g.address = *vgpu::PciAddress::from_parts(0, static_cast<std::uint8_t>(0x41 + i), 0, 0);
      g.model = i < 8 ? a16 : (i < 12 ? l4 : l40s);
      g.mode = i < 12 ? vgpu::GpuMode::equal_size : vgpu::GpuMode::mixed_size;
      g.numa_node = i / 8;
      (void)f.engine->add_gpu(std::move(g), host);
    }
  }
  // Fill: random types until 60% of the framebuffer is given out (or requests keep failing).
  std::uint64_t total = 0, used = 0;
  for (vgpu::GpuIndex g = 0; g < f.engine->gpu_count(); ++g)
    total += f.engine->gpu(g).gpu().model->framebuffer.in_mib();
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> pick(0, f.types.size() - 1);
  for (std::size_t misses = 0; used * 10 < total * 6 && misses < 1000;) {
    const auto& t = f.types[pick(rng)];
    if (auto r = f.engine->place(vgpu::Request::of(t))) {
      used += t.type->framebuffer.in_mib();
      misses = 0;
    } else {
      ++misses;
    }
  }
  for (const auto& t : f.types)
    if (f.engine->probe(vgpu::Request::of(t))) f.fitting.push_back(t);
  return f;
}

// One cached fleet per (policy, size): building 100,000 GPUs takes a while.
Fleet& fleet(const std::string& policy, std::size_t gpus) {
  static std::map<std::pair<std::string, std::size_t>, Fleet> cache;
  auto key = std::make_pair(policy, gpus);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make_fleet(policy, gpus)).first;
  return it->second;
}

const char* const policy_of[] = {
    "fragmentation-aware", "best-fit",       "depth-first", "breadth-first", "binpack", "spread",
    "gpu-packing",         "gpu-clustering", "first-fit",   "random"};

void label(benchmark::State& state) {
  state.SetLabel(std::string(policy_of[state.range(0)]) + "/" + std::to_string(state.range(1)) +
                 " GPUs");
}

// One decision (plan without committing), cycling through the workload's types that fit.
// (A refusal costs more: it builds the explanation; see BM_Refuse.)
void BM_Decide(benchmark::State& state) {
  Fleet& f = fleet(policy_of[state.range(0)], static_cast<std::size_t>(state.range(1)));
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = f.engine->probe(vgpu::Request::of(f.fitting[i++ % f.fitting.size()]));
    benchmark::DoNotOptimize(r);
  }
  label(state);
  state.counters["types"] = static_cast<double>(f.fitting.size());
  state.counters["classes"] = static_cast<double>(f.engine->class_count());
}

// A create + destroy cycle: decide, commit, then destroy the vGPU again.
void BM_CreateDestroy(benchmark::State& state) {
  Fleet& f = fleet(policy_of[state.range(0)], static_cast<std::size_t>(state.range(1)));
  const vgpu::Uuid uuid = *vgpu::Uuid::parse("0b1d2c3e-4f50-4a61-8b72-93a4b5c6d7e8");
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = f.engine->plan(vgpu::Request::of(f.fitting[i++ % f.fitting.size()]));
    if (r) {
      (void)f.engine->commit(r->front(), uuid);
      (void)f.engine->destroy(uuid);
    }
  }
  label(state);
}

// A refused request: the decision plus the message that explains it.
void BM_Refuse(benchmark::State& state) {
  Fleet& f = fleet("best-fit", static_cast<std::size_t>(state.range(0)));
  const auto big = *vgpu::builtin_catalog().find_type("A100D-7-80C");  // no A100 in the fleet
  for (auto _ : state)
    benchmark::DoNotOptimize(f.engine->probe(vgpu::Request::of(big)));
}
BENCHMARK(BM_Refuse)->Arg(16)->Arg(1000)->Arg(100000);

void policies_and_sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t p = 0; p < static_cast<std::int64_t>(std::size(policy_of)); ++p)
    for (std::int64_t n : {16, 1000, 100000})
      b->Args({p, n});
}
BENCHMARK(BM_Decide)->Apply(policies_and_sizes);
BENCHMARK(BM_CreateDestroy)->Apply(policies_and_sizes);

// Engine memory per GPU: heap in use for a fleet of N GPUs filled as above, divided by N.
void BM_EngineMemoryPerGpu(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  (void)vgpu::builtin_catalog();  // not part of the engine
  double per_gpu = 0, classes = 0;
  for (auto _ : state) {
    const auto before = mallinfo2().uordblks;
    Fleet f = make_fleet("best-fit", n);
    per_gpu = static_cast<double>(mallinfo2().uordblks - before) / static_cast<double>(n);
    classes = static_cast<double>(f.engine->class_count());
  }
  state.counters["bytes_per_gpu"] = per_gpu;
  state.counters["classes"] = classes;
}
BENCHMARK(BM_EngineMemoryPerGpu)
    ->Arg(16)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
