// The README's quickstart: place three vGPUs on the built-in simulated host.
#include <vgpu/catalog_io.hpp>
#include <vgpu/placement/first_fit.hpp>
#include <vgpu/sys/backend.hpp>

#include <cstdio>

int main() {
  const vgpu::TypeCatalog& catalog = vgpu::builtin_catalog();  // NVIDIA's published type tables
  vgpu::HostDescription host =
      vgpu::default_host(catalog).value();  // 4x A16, 2x L40S, 1x A100 (MIG)
  auto backend = vgpu::sys::make_simulated_backend(host).value();
  std::vector<vgpu::GpuOccupancy> gpus(host.gpus.begin(), host.gpus.end());
  for (const char* name : {"A16-4Q", "L40S-12Q", "A100D-3-40C"}) {
    auto type = catalog.find_type(name);        // vgpu::Result<vgpu::TypeRef>
    auto where = vgpu::first_fit(gpus, *type);  // which GPU, which placement
    if (!where) return std::fprintf(stderr, "%s\n", where.error().message().c_str()), 1;
    auto made =
        backend->create({vgpu::Uuid::generate(), where->gpu, name, where->placement, "vm-1"});
    if (!made || !vgpu::commit(gpus, *where, made->uuid)) return 1;
    std::printf("%s  %-12s on %s at slot %u\n", made->uuid.to_string().c_str(), name,
                made->gpu.to_string().c_str(), made->placement);
  }
}
