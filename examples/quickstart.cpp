// The README's quickstart: place three vGPUs on the built-in simulated host.
#include <vgpu/catalog_io.hpp>
#include <vgpu/placement/engine.hpp>
#include <vgpu/sys/backend.hpp>

#include <cstdio>

int main() {
  const vgpu::TypeCatalog& catalog = vgpu::builtin_catalog();  // NVIDIA's published type tables
  vgpu::HostDescription host =
      vgpu::default_host(catalog).value();  // 4x A16, 2x L40S, 1x A100 (MIG)
  auto backend = vgpu::sys::make_simulated_backend(host).value();
  // The engine decides where vGPUs go; the backend creates them.
  vgpu::PlacementEngine engine(vgpu::make_policy("fragmentation-aware").value());
  if (!engine.add_gpus(host.gpus)) return 1;
  for (const char* name : {"A16-4Q", "L40S-12Q", "A100D-3-40C"}) {
    vgpu::Request request = vgpu::Request::of(catalog.find_type(name).value());
    request.owner = "vm-1";             // one VM's vGPUs go on distinct GPUs
    auto where = engine.plan(request);  // which GPU, which placement; nothing changes yet
    if (!where) return std::fprintf(stderr, "%s\n", where.error().message().c_str()), 1;
    const vgpu::Placement& p = where->front();
    auto made = backend->create({vgpu::Uuid::generate(), engine.gpu(p.gpu).gpu().address, name,
                                 p.placement, request.owner});
    if (!made || !engine.commit(p, made->uuid, request.owner)) return 1;
    std::printf("%s  %-12s on %s at slot %u\n", made->uuid.to_string().c_str(), name,
                made->gpu.to_string().c_str(), made->placement);
  }
}
