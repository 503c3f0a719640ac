// Links the installed libvgpu: the built-in catalog and the simulated host.
#include <vgpu/catalog_io.hpp>
#include <vgpu/placement/first_fit.hpp>
#include <vgpu/sys/backend.hpp>
#include <vgpu/version.hpp>

#include <cstdio>

int main() {
  const vgpu::TypeCatalog& catalog = vgpu::builtin_catalog();
  auto type = catalog.find_type("NVIDIA A16-2Q");
  if (!type) return std::fprintf(stderr, "%s\n", type.error().message().c_str()), 1;
  auto host = vgpu::default_host(catalog);
  if (!host) return std::fprintf(stderr, "%s\n", host.error().message().c_str()), 1;
  auto backend = *vgpu::sys::make_simulated_backend(*host);
  std::vector<vgpu::GpuOccupancy> gpus;
  for (const auto& g : *backend->gpus())
    gpus.emplace_back(g);
  auto where = vgpu::first_fit(gpus, *type);
  if (!where) return std::fprintf(stderr, "%s\n", where.error().message().c_str()), 1;
  auto made =
      backend->create({vgpu::Uuid::generate(), where->gpu, type->type->name, where->placement, ""});
  if (!made) return std::fprintf(stderr, "%s\n", made.error().message().c_str()), 1;
  std::printf("vgpu %s: %zu types; created %s on %s\n", VGPU_VERSION_STRING, catalog.type_count(),
              made->type_name.c_str(), made->gpu.to_string().c_str());
  return 0;
}
