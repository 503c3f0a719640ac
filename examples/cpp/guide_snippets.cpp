// The C++ fragments the guides quote (docs/backends.md, docs/catalog.md, docs/ecosystem.md,
// docs/error-handling.md, docs/policies.md), compiled and run on the built-in simulated host
// so that the text in the guides is code that builds (tests/docs/check_snippets.py keeps the
// guides equal to the regions marked here).
#include <vgpu/catalog_io.hpp>
#include <vgpu/formats.hpp>
#include <vgpu/host.hpp>
#include <vgpu/manager.hpp>
#include <vgpu/sys/backend.hpp>

#include <cstdio>
#include <string>

namespace {

void open_a_kernel_backend() {
  // [open-backend]
  vgpu::sys::BackendOptions options;  // roots from $VGPU_SYSFS_ROOT / $VGPU_DEV_ROOT, else /
  auto backend = vgpu::sys::open_backend("auto", options);
  if (!backend) {
    std::fprintf(stderr, "%s\n", backend.error().message().c_str());  // what was looked for
    return;
  }
  for (const auto& gpu : (*backend)->gpus().value())
    for (const auto& type : (*backend)->creatable_types(gpu.address).value())
      std::printf("%s can create %s\n", gpu.address.to_string().c_str(), type.c_str());
  // [open-backend]
}

void node0_first_policy(vgpu::PlacementEngine& engine) {
  // [scoring-policy]
  // Keep vGPUs on NUMA node 0 while it has room, packing best-fit within a node.
  auto node0_first = vgpu::make_scoring_policy("node0-first", [](const vgpu::Candidate& c) {
    const double node = c.gpu->gpu().numa_node.value_or(1);
    return node * 1e9 + vgpu::policies::mib(vgpu::free_framebuffer(*c.gpu));  // lower is better
  });
  engine.set_policy(node0_first);
  // [scoring-policy]
}

void extend_the_catalog() {
  // [extend-catalog]
  vgpu::TypeCatalog catalog = vgpu::builtin_catalog();  // a copy you may extend
  if (auto ok = vgpu::load_catalog_path(catalog, "/etc/vgpu/catalog.d", vgpu::OnDuplicate::refuse);
      !ok) {
    std::fprintf(stderr, "%s\n", ok.error().message().c_str());
  }
  // [extend-catalog]
}

vgpu::Result<void> export_the_host(vgpu::Manager& manager) {
  // [export]
  auto inventory = vgpu::formats::collect_inventory(manager);  // one consistent snapshot
  if (!inventory) return inventory.error();
  vgpu::formats::ExportOptions options;  // filters and choices
  options.gpu = vgpu::PciAddress::parse("0000:41:00.0").value();
  auto text = vgpu::formats::export_inventory(*inventory, vgpu::formats::Format::libvirt_nodedev,
                                              options);  // Result<std::string>
  // One Document per ResourceSlice:
  auto docs = vgpu::formats::export_documents(*inventory, vgpu::formats::Format::dra, options);
  auto state =
      vgpu::formats::load_nvidia_vgpu_config("lab.yaml", manager.gpus(), manager.catalog(), "lab");
  if (state)
    if (auto applied = manager.apply(*state, {.prune = true}); !applied) return applied.error();
  // [export]
  if (!text || !docs) return fail(vgpu::Errc::internal, "export failed");
  std::printf("libvirt-nodedev: %zu bytes, dra: %zu documents\n", text->size(), docs->size());
  return {};
}

vgpu::Result<vgpu::TypeRef> find(const vgpu::TypeCatalog& catalog, const std::string& name) {
  // [with-context]
  auto type = catalog.find_type(name);
  if (!type) return type.error().with_context("--type");
  // "--type: unknown vGPU type 'A16-3Q'; types of that model: A16-16Q, ..."
  // [with-context]
  return type;
}

// [open-host]
vgpu::Result<vgpu::HostDescription> open_host(const std::string& path) {
  vgpu::TypeCatalog catalog = vgpu::builtin_catalog();
  if (auto ok = vgpu::load_catalog_path(catalog, "/etc/vgpu/catalog.d"); !ok)
    return ok.error().with_context("extra catalog");
  return vgpu::load_host_description(path, catalog);  // Result passes through
}

int use_host() {
  auto host = open_host("host.json");
  if (!host) {
    std::fprintf(stderr, "error: %s\n", host.error().message().c_str());
    return host.error().code() == vgpu::Errc::not_found ? 1 : 2;
  }
  for (const auto& gpu : host->gpus) { /* ... */
    (void)gpu;
  }
  return 0;
}
// [open-host]

}  // namespace

int main() {
  open_a_kernel_backend();  // on a machine without vGPU-capable GPUs: says what it looked for
  auto catalog = vgpu::builtin_catalog();
  vgpu::PlacementEngine engine(vgpu::make_policy("best-fit").value());
  node0_first_policy(engine);
  extend_the_catalog();
  auto manager = vgpu::Manager::open({}).value();
  if (auto ok = export_the_host(*manager); !ok) return std::puts(ok.error().message().c_str()), 1;
  auto unknown = find(catalog, "A16-3Q");
  std::printf("%s\n", unknown ? "found" : unknown.error().message().c_str());
  std::printf("use_host: %d\n", use_host());
  std::printf("guide snippets OK (%s)\n", engine.policy().name().data());
}
