// The RFC's per-VF vGPU sysfs interface (nvidia-vgpu-vfio, NVIDIA's vendor-specific VFIO
// framework). Internal to libvgpu; the nouveau backend composes it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backends/sysfs/records.hpp"
#include "backends/sysfs/sysfs.hpp"
#include "vgpu/sys/backend.hpp"

namespace vgpu::sys::nvidia_vfio {

// One line of nvidia/creatable_vgpu_types.
struct KernelType {
  std::uint32_t id = 0;
  std::string name;  // as the driver spells it, e.g. "NVIDIA A16-2Q"
};

// Parses creatable_vgpu_types: an optional "ID : vGPU Name" header, then "%-5d : %s" lines.
// Blank lines are skipped; anything else is an error naming @p origin and the line.
Result<std::vector<KernelType>> parse_creatable(std::string_view text, std::string_view origin);

// The placement ID in a VF's nvidia/vgpu_params ("vgpu-placement-id=N", N at most 1024), or
// nullopt when it names none.
std::optional<std::uint32_t> placement_param(std::string_view params);

// The backend's cache of driver type ids (<state_dir>/nvidia-vfio/type-ids): "ID NAME" lines.
// Reading stops at the first line that does not start with an id.
std::map<std::uint32_t, std::string> parse_type_ids(std::string_view text);
std::string type_ids_text(const std::map<std::uint32_t, std::string>& ids);

// One SR-IOV physical function with the VF interface.
struct PhysicalFunction {
  PciAddress address;
  sysfs::fs::path dir;
  std::uint16_t vendor_id = 0, device_id = 0;
  std::string driver;
  std::uint32_t total_vfs = 0, num_vfs = 0;
  std::vector<PciAddress> vfs;  // virtfn0, virtfn1, ... in order
};

// True when @p dir is an NVIDIA SR-IOV PF that has (or, once VFs are enabled, will have) the
// VF vGPU interface: vendor 0x10de, sriov_totalvfs > 0, and either a VF carrying
// nvidia/current_vgpu_type or no VFs enabled yet.
bool looks_like_vgpu_pf(const sysfs::fs::path& dir);

class NvidiaVfioBackend : public Backend {
 public:
  // @p only: restrict to these PFs (the nouveau backend passes the ones nouveau drives);
  // empty: every NVIDIA PF with the interface.
  explicit NvidiaVfioBackend(BackendOptions options, std::vector<PciAddress> only = {});

  std::string_view name() const override { return "nvidia-vfio"; }
  Result<std::vector<PhysicalGpu>> gpus() override;
  Result<std::vector<VgpuInstance>> instances() override;
  Result<VgpuInstance> create(const CreateRequest& request) override;
  Result<void> destroy(const Uuid& uuid) override;
  Result<std::vector<std::string>> creatable_types(const PciAddress& gpu) override;
  Result<std::vector<GpuInfo>> gpu_info() override;

  // The PFs this backend drives.
  Result<std::vector<PhysicalFunction>> physical_functions();
  // The catalog model for a PF: by the types its VFs list, else by PCI device id.
  Result<std::shared_ptr<const GpuModel>> model_of(const PhysicalFunction& pf);

 private:
  struct VfState;
  Result<PhysicalFunction> read_pf(const PciAddress& address);
  Result<VfState> read_vf(const PhysicalFunction& pf, const PciAddress& vf);
  Result<std::vector<KernelType>> creatable_on(const PciAddress& vf);
  GpuMode mode_of(const PhysicalFunction& pf, const std::vector<VfState>& vfs) const;
  std::optional<std::string> type_name_for(std::uint32_t id) const;
  std::optional<std::uint32_t> type_id_for(const std::string& canonical) const;
  void learn(const std::vector<KernelType>& types);
  void save_type_ids() const;
  void load_type_ids();
  Result<void> enable_vfs(PhysicalFunction& pf);
  Result<std::vector<VgpuInstance>> instances_on(const PhysicalFunction& pf, GpuMode* mode);

  BackendOptions options_;
  std::vector<PciAddress> only_;
  sysfs::Root root_;
  sysfs::RecordStore records_;
  std::map<std::uint32_t, std::string> type_names_;  // kernel id -> canonical catalog name
};

}  // namespace vgpu::sys::nvidia_vfio
