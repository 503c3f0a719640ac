// The nouveau backend: discovery and capacity through libdrm (drmGetDevices2, drmGetVersion,
// DRM_NOUVEAU_GETPARAM), vGPU lifecycle through the RFC's VF sysfs interface, which the
// nvidia-vgpu-vfio driver provides on top of the nouveau/nova core driver.
#include "backends/nouveau/nouveau.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <xf86drm.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "backends/nouveau/nouveau_uapi.hpp"
#include "backends/nvidia_vfio/nvidia_vfio.hpp"
#include "backends/sysfs/sysfs.hpp"

namespace vgpu::sys::nouveau {
namespace {

namespace fs = std::filesystem;

constexpr std::uint16_t nvidia_vendor = 0x10de;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

// One GETPARAM; nullopt when the kernel does not know the param (EINVAL: older kernels lack
// 17-20) or refuses it.
std::optional<std::uint64_t> getparam(int fd, std::uint64_t param) {
  drm_nouveau_getparam p{};
  p.param = param;
  if (drmCommandWriteRead(fd, DRM_NOUVEAU_GETPARAM, &p, sizeof p) != 0) return std::nullopt;
  return p.value;
}

std::string driver_name(int fd) {
  drmVersionPtr v = drmGetVersion(fd);
  if (!v) return {};
  std::string name(v->name ? v->name : "", static_cast<std::size_t>(v->name_len));
  drmFreeVersion(v);
  return name;
}

}  // namespace

Result<std::vector<DrmGpu>> enumerate(const fs::path& dev_root) {
  const int count = drmGetDevices2(0, nullptr, 0);
  if (count < 0)
    return fail(Errc::io_error,
                std::string("drmGetDevices2 failed: ") + std::strerror(-count) +
                    " (is /dev/dri readable? add the user to the render group)",
                -count);
  std::vector<drmDevicePtr> devices(static_cast<std::size_t>(count));
  const int got = count ? drmGetDevices2(0, devices.data(), count) : 0;
  if (got < 0)
    return fail(Errc::io_error, std::string("drmGetDevices2 failed: ") + std::strerror(-got), -got);
  std::vector<DrmGpu> out;
  Error first_error(Errc::ok, {});
  for (int i = 0; i < got; ++i) {
    const drmDevicePtr d = devices[static_cast<std::size_t>(i)];
    if (d->bustype != DRM_BUS_PCI || d->deviceinfo.pci->vendor_id != nvidia_vendor) continue;
    if (!(d->available_nodes & (1 << DRM_NODE_RENDER))) continue;
    auto address = PciAddress::from_parts(d->businfo.pci->domain, d->businfo.pci->bus,
                                          d->businfo.pci->dev, d->businfo.pci->func);
    if (!address) continue;
    DrmGpu g;
    g.address = *address;
    g.vendor_id = d->deviceinfo.pci->vendor_id;
    g.device_id = d->deviceinfo.pci->device_id;
    g.render_node = d->nodes[DRM_NODE_RENDER];
    const fs::path node = dev_root / fs::path(g.render_node).relative_path();
    Fd fd(::open(node.c_str(), O_RDWR | O_CLOEXEC));
    if (fd.get() < 0) {
      if (first_error.code() == Errc::ok) first_error = sysfs::generic_error(errno, node, "open");
      continue;
    }
    g.driver = driver_name(fd.get());
    if (g.driver != "nouveau") continue;
    g.framebuffer = getparam(fd.get(), NOUVEAU_GETPARAM_FB_SIZE);
    g.framebuffer_used = getparam(fd.get(), NOUVEAU_GETPARAM_VRAM_USED);
    g.bar1 = getparam(fd.get(), NOUVEAU_GETPARAM_VRAM_BAR_SIZE);
    if (auto c = getparam(fd.get(), NOUVEAU_GETPARAM_CHIPSET_ID))
      g.chipset = static_cast<std::uint32_t>(*c);
    if (auto b = getparam(fd.get(), NOUVEAU_GETPARAM_BUS_TYPE))
      g.bus_type = static_cast<std::uint32_t>(*b);
    // The PCI ids the driver reports win over drmGetDevices2's sysfs reading.
    if (auto v = getparam(fd.get(), NOUVEAU_GETPARAM_PCI_VENDOR))
      g.vendor_id = static_cast<std::uint16_t>(*v);
    if (auto dev = getparam(fd.get(), NOUVEAU_GETPARAM_PCI_DEVICE))
      g.device_id = static_cast<std::uint16_t>(*dev);
    out.push_back(std::move(g));
  }
  drmFreeDevices(devices.data(), got);
  if (out.empty() && first_error.code() != Errc::ok) return first_error;
  std::sort(out.begin(), out.end(),
            [](const DrmGpu& a, const DrmGpu& b) { return a.address < b.address; });
  return out;
}

namespace {

class NouveauBackend final : public Backend {
 public:
  explicit NouveauBackend(BackendOptions options) : options_(std::move(options)) {}

  std::string_view name() const override { return "nouveau"; }

  Result<std::vector<PhysicalGpu>> gpus() override {
    auto found = refresh();
    if (!found) return found.error();
    std::vector<PhysicalGpu> out;
    auto vf_gpus =
        vfio_ ? vfio_->gpus() : Result<std::vector<PhysicalGpu>>(std::vector<PhysicalGpu>{});
    if (!vf_gpus) return vf_gpus.error();
    for (const auto& d : drm_) {
      auto vf = std::find_if(vf_gpus->begin(), vf_gpus->end(),
                             [&](const PhysicalGpu& g) { return g.address == d.address; });
      if (vf != vf_gpus->end()) {
        out.push_back(*vf);
        continue;
      }
      auto model = model_for(d);
      if (!model) return model.error();
      PhysicalGpu g;
      g.address = d.address;
      g.model = *model;
      const fs::path dir = sysfs::Root(options_.sysfs_root).pci_device(d.address);
      g.numa_node = sysfs::numa_node_of(dir);
      g.pci_root = sysfs::pci_root_of(dir);
      for (const auto& [address, mode] : options_.gpu_modes)
        if (address == d.address) g.mode = mode;
      out.push_back(std::move(g));
    }
    return out;
  }

  Result<std::vector<VgpuInstance>> instances() override {
    auto found = refresh();
    if (!found) return found.error();
    if (!vfio_) return std::vector<VgpuInstance>{};
    return vfio_->instances();
  }

  Result<VgpuInstance> create(const CreateRequest& request) override {
    auto found = refresh();
    if (!found) return found.error();
    if (auto ok = require_vf_interface(request.gpu); !ok) return ok.error();
    return vfio_->create(request);
  }

  Result<void> destroy(const Uuid& uuid) override {
    auto found = refresh();
    if (!found) return found.error();
    if (!vfio_) return fail(Errc::not_found, "no vGPU " + uuid.to_string() + " on this host");
    return vfio_->destroy(uuid);
  }

  Result<std::vector<std::string>> creatable_types(const PciAddress& gpu) override {
    auto found = refresh();
    if (!found) return found.error();
    if (!has_vf_interface(gpu)) return std::vector<std::string>{};
    return vfio_->creatable_types(gpu);
  }

  Result<std::vector<GpuInfo>> gpu_info() override {
    auto found = refresh();
    if (!found) return found.error();
    std::vector<GpuInfo> vf_info;
    if (vfio_) {
      auto got = vfio_->gpu_info();
      if (!got) return got.error();
      vf_info = std::move(*got);
    }
    std::vector<GpuInfo> out;
    for (const auto& d : drm_) {
      GpuInfo info;
      if (auto vf = std::find_if(vf_info.begin(), vf_info.end(),
                                 [&](const GpuInfo& i) { return i.address == d.address; });
          vf != vf_info.end())
        info = *vf;
      info.address = d.address;
      info.vendor_id = d.vendor_id;
      info.device_id = d.device_id;
      info.driver = d.driver;
      info.interface = has_vf_interface(d.address) ? "nouveau+nvidia-vfio" : "nouveau";
      if (d.framebuffer) info.framebuffer = Bytes(*d.framebuffer);
      if (d.framebuffer_used) info.framebuffer_used = Bytes(*d.framebuffer_used);
      info.render_node = d.render_node;
      info.chipset = d.chipset;
      out.push_back(std::move(info));
    }
    return out;
  }

 private:
  // Re-reads the DRM devices and rebuilds the VF part for the PFs nouveau drives.
  Result<void> refresh() {
    auto found = enumerate(options_.dev_root);
    if (!found) return found.error();
    drm_ = std::move(*found);
    std::vector<PciAddress> with_vfs;
    const sysfs::Root root(options_.sysfs_root);
    for (const auto& d : drm_)
      if (nvidia_vfio::looks_like_vgpu_pf(root.pci_device(d.address)))
        with_vfs.push_back(d.address);
    if (with_vfs.empty())
      vfio_.reset();
    else
      vfio_ = std::make_unique<nvidia_vfio::NvidiaVfioBackend>(options_, with_vfs);
    vf_pfs_ = std::move(with_vfs);
    return {};
  }

  bool has_vf_interface(const PciAddress& gpu) const {
    return std::find(vf_pfs_.begin(), vf_pfs_.end(), gpu) != vf_pfs_.end();
  }

  Result<void> require_vf_interface(const PciAddress& gpu) const {
    if (std::none_of(drm_.begin(), drm_.end(), [&](const DrmGpu& d) { return d.address == gpu; }))
      return fail(Errc::not_found, "no nouveau GPU " + gpu.to_string() + " (`vgpuctl gpus`)");
    if (!has_vf_interface(gpu))
      return fail(Errc::not_supported,
                  "GPU " + gpu.to_string() +
                      " is driven by nouveau but has no vGPU VF interface (no SR-IOV VFs with "
                      "nvidia/current_vgpu_type under " +
                      sysfs::Root(options_.sysfs_root).pci_device(gpu).string() +
                      "); load nvidia_vgpu_vfio_pci and enable VFs (sriov_numvfs)");
    return {};
  }

  // The catalog model with the GPU's PCI device id; when several share it (A2 and A16), the
  // one whose framebuffer is closest to what the driver reports.
  Result<std::shared_ptr<const GpuModel>> model_for(const DrmGpu& d) const {
    auto models = options_.catalog->find_models_by_pci_device(d.device_id);
    if (models.empty()) {
      char id[8];
      std::snprintf(id, sizeof id, "%04x", d.device_id);
      return fail(Errc::not_supported, "nouveau GPU " + d.address.to_string() +
                                           " (PCI id 10de:" + id +
                                           ") is not in the vGPU catalog; add its model to a "
                                           "catalog file (docs/catalog.md)");
    }
    auto distance = [&](const std::shared_ptr<const GpuModel>& m) {
      const std::uint64_t fb = m->framebuffer.count();
      const std::uint64_t got = d.framebuffer.value_or(fb);
      return fb > got ? fb - got : got - fb;
    };
    return *std::min_element(models.begin(), models.end(), [&](const auto& a, const auto& b) {
      return distance(a) < distance(b);
    });
  }

  BackendOptions options_;
  std::vector<DrmGpu> drm_;
  std::vector<PciAddress> vf_pfs_;
  std::unique_ptr<nvidia_vfio::NvidiaVfioBackend> vfio_;
};

}  // namespace

std::unique_ptr<Backend> make(const BackendOptions& options) {
  return std::make_unique<NouveauBackend>(options);
}

}  // namespace vgpu::sys::nouveau
