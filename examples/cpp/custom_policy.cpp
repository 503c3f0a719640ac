// A placement policy of your own, plugged into vgpu::Manager (docs/policies.md), and what it
// changes: the same requests on two built-in simulated hosts, one placed by the default
// policy (fragmentation-aware), one by this policy.
#include <vgpu/manager.hpp>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

// [policy]
// "Quiet neighbours": each VM on a GPU of its own while there is one (no noisy neighbour), on
// the model with the least framebuffer that can serve it (the big GPUs stay free for the VMs
// only they can take), at the tightest fit. Lower scores win; ties go to the lowest address.
class QuietNeighbours final : public vgpu::Policy {
 public:
  std::string_view name() const noexcept override { return "quiet-neighbours"; }
  double score(const vgpu::Candidate& c) override {
    using vgpu::policies::mib;
    const double neighbours = static_cast<double>(c.gpu->occupants().size());
    const double gpu_size = mib(c.gpu->gpu().model->framebuffer);
    const double left_over = mib(vgpu::free_framebuffer(*c.gpu)) - mib(c.type->framebuffer);
    return neighbours * 1e12 + gpu_size * 1e6 + left_over;
  }
  // The score reads only the candidate, so the engine may cache it (see policy.hpp).
  std::shared_ptr<vgpu::Policy> clone() const override {
    return std::make_shared<QuietNeighbours>(*this);
  }
};
// [policy]

// Opens a Manager on the built-in simulated host, placing with @p policy (null: the default).
std::unique_ptr<vgpu::Manager> open(std::shared_ptr<vgpu::Policy> policy) {
  // [plug-in]
  vgpu::ManagerOptions options;
  options.custom_policy = std::move(policy);  // when set, options.policy (a name) is ignored
  // [plug-in]
  auto opened = vgpu::Manager::open(std::move(options));
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().message().c_str());
    return nullptr;
  }
  return std::move(*opened);
}

}  // namespace

int main() {
  auto by_default = open(nullptr);
  auto by_size = open(std::make_shared<QuietNeighbours>());
  if (!by_default || !by_size) return 1;

  // Three VMs that each need a Q-series vGPU of at least 8 GiB (an A16 or an L40S can serve
  // them), then one that needs a 48 GiB vGPU (only an empty L40S can).
  vgpu::TypeRequirement small;
  small.min_framebuffer = vgpu::Bytes::gib(8);
  small.series = vgpu::Series::Q;
  vgpu::TypeRequirement whole_l40s = small;
  whole_l40s.min_framebuffer = vgpu::Bytes::gib(48);
  const std::vector<std::pair<std::string, vgpu::Request>> requests = {
      {"vm-1", vgpu::Request::needing(small)},
      {"vm-2", vgpu::Request::needing(small)},
      {"vm-3", vgpu::Request::needing(small)},
      {"vm-4", vgpu::Request::needing(whole_l40s, 2)},
  };

  std::map<std::string, int> placed;
  for (auto* manager : {by_default.get(), by_size.get()}) {
    std::printf("%s:\n", manager->policy_name().c_str());
    for (auto [vm, request] : requests) {
      request.owner = vm;
      auto created = manager->create(request);
      if (!created) {
        std::printf("  %s: refused: %s\n", vm.c_str(),
                    std::string(vgpu::to_string(created.error().code())).c_str());
        continue;
      }
      for (const auto& v : *created)
        std::printf("  %s: %-9s on %s at slot %u\n", vm.c_str(), v.type_name.c_str(),
                    v.gpu.to_string().c_str(), v.placement);
      placed[manager->policy_name()] += static_cast<int>(created->size());
    }
  }
  std::printf("vGPUs placed: %d by fragmentation-aware, %d by quiet-neighbours\n",
              placed["fragmentation-aware"], placed["quiet-neighbours"]);
}
