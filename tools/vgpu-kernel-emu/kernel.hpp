// The emulated kernel: PCI devices, the RFC's per-VF vGPU files and mdev, with the kernel's
// semantics (which writes succeed, which fail with which errno), served as a sysfs tree.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/catalog.hpp"
#include "vgpu/host.hpp"

namespace vgpu::emu {

enum class Interface { vf, mdev };

// A type as the emulated driver offers it on one GPU.
struct DriverType {
  std::uint32_t id = 0;  // driver type id: the catalog's, else a stable synthetic one
  std::string name;      // as the driver spells it: "NVIDIA A16-2Q"
  const VgpuType* type = nullptr;
};

struct Vf {
  PciAddress address;
  std::uint32_t index = 0;    // virtfn<index>
  std::uint32_t current = 0;  // current_vgpu_type
  std::string params;         // vgpu_params
  std::uint32_t placement = 0;
  bool open = false;  // its VFIO device is open (a VM runs)
};

struct Mdev {
  Uuid uuid;
  std::size_t type = 0;  // index into Gpu::types
  std::uint32_t placement = 0;
  bool open = false;
};

struct Gpu {
  PciAddress address;
  std::string pci_root;
  std::shared_ptr<const GpuModel> model;
  Interface interface = Interface::vf;
  std::string driver;  // "nvidia" or "nouveau"
  GpuMode mode = GpuMode::equal_size;
  std::optional<std::uint32_t> numa_node;
  std::uint32_t total_vfs = 0;
  std::vector<Vf> vfs;  // enabled VFs (some may be unplugged: removed from the vector)
  std::uint32_t num_vfs = 0;
  std::vector<DriverType> types;
  std::vector<Mdev> mdevs;
};

// A node of the sysfs tree, built on each look-up from the current state.
struct Node {
  enum class Kind { none, dir, file, link } kind = Kind::none;
  unsigned mode = 0;                           // permission bits of files
  std::vector<std::string> entries;            // dir
  std::string target;                          // link
  std::function<int(std::string&)> read;       // file: 0 or -errno
  std::function<int(std::string_view)> write;  // file: 0 or -errno; null: read-only
};

struct Options {
  Interface interface = Interface::vf;
  std::string driver = "nvidia";
  std::uint32_t vfs = 16;         // sriov_totalvfs per GPU
  bool vfs_enabled = true;        // sriov_numvfs = vfs at start
  bool one_type_per_gpu = false;  // the RFC: one type per GPU (mdev always is)
};

class Kernel {
 public:
  // Reads the emulator's host file: {"interface", "driver", "vfs", "vfs_enabled",
  // "one_type_per_gpu", "overrides": {"<address>": {...}}, "host": <host description>}.
  static Result<std::unique_ptr<Kernel>> load(const std::string& path, const TypeCatalog& catalog);

  // Look-up of a path relative to the sysfs root ("/bus/pci/devices"). Thread-safe: the
  // returned callbacks take the lock themselves.
  Node lookup(std::string_view path);

  // The GPUs driven by nouveau, for the DRM emulation; the framebuffer in use on one.
  std::vector<Gpu> nouveau_gpus();
  std::uint64_t framebuffer_used(const PciAddress& gpu);

  std::mutex& mutex() { return mutex_; }

  // Paths (under the sysfs root) of entries that disappeared since the last call: the FUSE
  // layer tells the kernel to forget them, so its dentry cache never shows a removed device.
  std::vector<std::string> take_removed();

 private:
  Result<void> adopt(const VgpuInstance& v);
  int rule_errno(const Gpu& g, const DriverType& t, std::optional<std::uint32_t> placement,
                 std::uint32_t* chosen) const;
  std::uint32_t available(const Gpu& g, const DriverType& t) const;
  std::vector<const DriverType*> creatable(const Gpu& g) const;
  int set_num_vfs(Gpu& g, std::string_view text);
  int set_current(Gpu& g, Vf& vf, std::string_view text);
  int mdev_create(Gpu& g, std::size_t type, std::string_view text);
  int mdev_remove(Gpu& g, const Uuid& uuid, std::string_view text);
  int control(std::string_view text);
  std::string state_json() const;
  Gpu* gpu_at(const PciAddress& a);
  std::pair<Gpu*, Vf*> vf_at(const PciAddress& a);
  std::pair<Gpu*, Mdev*> mdev_of(const Uuid& u);
  const DriverType* type_by_id(const Gpu& g, std::uint32_t id) const;
  Node with_faults(const std::string& path, Node node);
  Node lookup_device(const std::vector<std::string>& parts);

  std::mutex mutex_;
  Options options_;
  std::vector<Gpu> gpus_;
  std::map<std::string, int> faults_;           // path suffix -> errno for reads and writes
  std::map<std::string, int> write_faults_;     // path suffix -> errno for writes only
  std::map<std::string, std::string> garbage_;
  std::vector<std::string> removed_;
  void removed_vf(const Gpu& g, const Vf& vf);  // path -> what reads return
};

}  // namespace vgpu::emu
