// The README's quickstart: a VM's three vGPUs on the built-in simulated host, through the
// Manager (catalog + backend + host ledger + placement policy), then released again.
// [quickstart]
#include <vgpu/manager.hpp>

#include <cstdio>

int main() {
  vgpu::ManagerOptions options;  // the built-in simulated host: 4x A16, 2x L40S, 1x A100 (MIG)
  options.logger = [](vgpu::LogLevel level, std::string_view m) {  // the library never prints
    if (level >= vgpu::LogLevel::warning)
      std::fprintf(stderr, "vgpu: %.*s\n", static_cast<int>(m.size()), m.data());
  };
  auto opened = vgpu::Manager::open(std::move(options));
  if (!opened) return std::fprintf(stderr, "%s\n", opened.error().message().c_str()), 1;
  vgpu::Manager& manager = **opened;

  std::vector<vgpu::Uuid> made;
  for (const char* name : {"A16-4Q", "L40S-12Q", "A100D-3-40C"}) {
    vgpu::Request request = vgpu::Request::of(manager.catalog().find_type(name).value());
    request.owner = "vm-1";  // one VM's vGPUs go on distinct GPUs
    // Reserved in the host's ledger, created by the backend, then marked active; any
    // failure undoes all of it.
    auto vgpus = manager.create(request);
    if (!vgpus) return std::fprintf(stderr, "%s\n", vgpus.error().message().c_str()), 1;
    const vgpu::VgpuRecord& v = vgpus->front();
    std::printf("%s  %-12s on %s at slot %u\n", v.uuid.to_string().c_str(), name,
                v.gpu.to_string().c_str(), v.placement);
    made.push_back(v.uuid);
  }
  for (const auto& uuid : made)  // the VM is gone: give the vGPUs back
    if (auto ok = manager.destroy(uuid); !ok)
      return std::fprintf(stderr, "%s\n", ok.error().message().c_str()), 1;
  std::printf("%zu vGPUs left\n", manager.instances().value().size());
}
// [quickstart]
