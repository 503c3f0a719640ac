// Catalog look-ups and first-fit placement. Run: build/default/benchmarks/vgpu_benchmarks
// (report medians: --benchmark_repetitions=9 --benchmark_report_aggregates_only=true).
#include <benchmark/benchmark.h>

#include "vgpu/catalog_io.hpp"
#include "vgpu/host.hpp"
#include "vgpu/placement/first_fit.hpp"

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

// Fill a host of N A16 GPUs with 1Q vGPUs, one first-fit decision at a time.
void BM_FirstFitFillHost(benchmark::State& state) {
  const auto& c = vgpu::builtin_catalog();
  const auto type = *c.find_type("A16-1Q");
  const std::string host_json =
      R"({"gpus": [{"model": "A16", "count": )" + std::to_string(state.range(0)) + "}]}";
  const auto host = *vgpu::parse_host_description(host_json, "bench", c);
  std::int64_t placed = 0;
  for (auto _ : state) {
    std::vector<vgpu::GpuOccupancy> gpus(host.gpus.begin(), host.gpus.end());
    for (;;) {
      auto d = vgpu::first_fit(gpus, type);
      if (!d) break;
      (void)vgpu::commit(gpus, *d, vgpu::Uuid::generate());
      ++placed;
    }
  }
  state.SetItemsProcessed(placed);
}
BENCHMARK(BM_FirstFitFillHost)->Arg(4)->Arg(16)->Arg(64)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
