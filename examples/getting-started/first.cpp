// The first C++ program of docs/getting-started.md: one vGPU for one VM on the built-in
// simulated host, through vgpu::Manager, then released.
// [program]
#include <vgpu/manager.hpp>

#include <cstdio>

int main() {
  auto opened = vgpu::Manager::open({});  // default options: the built-in simulated host
  if (!opened) return std::fprintf(stderr, "%s\n", opened.error().message().c_str()), 1;
  vgpu::Manager& manager = **opened;

  vgpu::Request request = vgpu::Request::of(manager.catalog().find_type("A16-4Q").value());
  request.owner = "vm-1";
  auto vgpus = manager.create(request);
  if (!vgpus) return std::fprintf(stderr, "%s\n", vgpus.error().message().c_str()), 1;
  for (const auto& v : *vgpus)
    std::printf("%s on %s at slot %u\n", v.uuid.to_string().c_str(), v.gpu.to_string().c_str(),
                v.placement);
  for (const auto& v : *vgpus)
    (void)manager.destroy(v.uuid);
}
// [program]
