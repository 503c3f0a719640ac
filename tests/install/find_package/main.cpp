// Links the installed libvgpu: the built-in catalog and the simulated host.
#include <vgpu/catalog_io.hpp>
#include <vgpu/placement/engine.hpp>
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
  vgpu::PlacementEngine engine(*vgpu::make_policy("best-fit"));
  if (!engine.add_gpus(*backend->gpus())) return 1;
  auto where = engine.plan(vgpu::Request::of(*type));
  if (!where) return std::fprintf(stderr, "%s\n", where.error().message().c_str()), 1;
  const auto& p = where->front();
  auto made = backend->create(
      {vgpu::Uuid::generate(), engine.gpu(p.gpu).gpu().address, type->type->name, p.placement, ""});
  if (!made) return std::fprintf(stderr, "%s\n", made.error().message().c_str()), 1;
  std::printf("vgpu %s: %zu types; created %s on %s\n", VGPU_VERSION_STRING, catalog.type_count(),
              made->type_name.c_str(), made->gpu.to_string().c_str());
  return 0;
}
