// The simulated host backend: GPUs and vGPUs in memory, hardware rules from GpuOccupancy.
#include <algorithm>
#include <map>

#include "vgpu/sys/backend.hpp"

namespace vgpu::sys {
namespace {

class SimulatedBackend final : public Backend {
 public:
  SimulatedBackend(std::vector<PhysicalGpu> gpus, OccupancyOptions rules) : gpus_(std::move(gpus)) {
    for (const auto& g : gpus_)
      occupancy_.emplace(g.address, GpuOccupancy(g, rules));
  }

  // Adds an existing vGPU under the same rules as create().
  Result<void> adopt(VgpuInstance v) {
    auto made = create({v.uuid, v.gpu, v.type_name, v.placement, v.owner});
    if (!made) return made.error();
    instances_.back().created_at = v.created_at;
    return {};
  }

  std::string_view name() const override { return "sim"; }

  Result<std::vector<PhysicalGpu>> gpus() override { return gpus_; }

  Result<std::vector<VgpuInstance>> instances() override { return instances_; }

  Result<VgpuInstance> create(const CreateRequest& request) override {
    auto occ = occupancy_.find(request.gpu);
    if (occ == occupancy_.end())
      return fail(Errc::not_found, "no GPU " + request.gpu.to_string() + " on the simulated host");
    for (const auto& [address, other] : occupancy_) {
      if (other.holds(request.uuid))
        return fail(Errc::conflict, "a vGPU with uuid " + request.uuid.to_string() +
                                        " already exists on GPU " + address.to_string());
    }
    const VgpuType* type = occ->second.gpu().model->find_type(request.type_name);
    if (!type)
      return fail(Errc::not_supported, "GPU " + request.gpu.to_string() + " (" +
                                           occ->second.gpu().model->name + ") does not support " +
                                           request.type_name);
    auto placed = occ->second.add(request.uuid, *type, request.placement);
    if (!placed) return placed.error();
    VgpuInstance inst{request.uuid,
                      type->name,
                      request.gpu,
                      *placed,
                      request.owner,
                      std::chrono::system_clock::now(),
                      {}};
    instances_.push_back(inst);
    return inst;
  }

  Result<void> destroy(const Uuid& uuid) override {
    auto it = std::find_if(instances_.begin(), instances_.end(),
                           [&](const VgpuInstance& v) { return v.uuid == uuid; });
    if (it == instances_.end())
      return fail(Errc::not_found, "no vGPU " + uuid.to_string() + " on the simulated host");
    if (auto ok = occupancy_.at(it->gpu).remove(uuid); !ok) return ok;
    instances_.erase(it);
    return {};
  }

 private:
  std::vector<PhysicalGpu> gpus_;
  std::map<PciAddress, GpuOccupancy> occupancy_;
  std::vector<VgpuInstance> instances_;
};

}  // namespace

Result<std::unique_ptr<Backend>> make_simulated_backend(HostDescription host,
                                                        OccupancyOptions rules) {
  auto backend = std::make_unique<SimulatedBackend>(std::move(host.gpus), rules);
  for (std::size_t i = 0; i < host.vgpus.size(); ++i) {
    if (auto ok = backend->adopt(std::move(host.vgpus[i])); !ok)
      return ok.error().with_context("simulated host: vgpus[" + std::to_string(i) + "]");
  }
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace vgpu::sys
