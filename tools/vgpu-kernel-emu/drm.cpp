// The DRM side of the emulated kernel: an umockdev testbed with, for every GPU nouveau drives,
// its PCI device, a /dev/dri/renderD* node and an ioctl handler that answers DRM_IOCTL_VERSION
// and DRM_IOCTL_NOUVEAU_GETPARAM as nouveau does (nouveau_abi16.c: EINVAL for unknown params).
// A program started with umockdev's preload library then sees these devices through unmodified
// libdrm (drmGetDevices2, drmGetVersion, drmCommandWriteRead).
#include "drm.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#if VGPU_EMU_HAVE_UMOCKDEV
#include <umockdev.h>

#include "backends/nouveau/nouveau_uapi.hpp"
#endif

namespace vgpu::emu {

#if VGPU_EMU_HAVE_UMOCKDEV
namespace {

struct DeviceContext {
  Kernel* kernel;
  Gpu gpu;
};

bool answer_version(UMockdevIoctlClient* client, UMockdevIoctlData* arg) {
  GError* error = nullptr;
  UMockdevIoctlData* data = umockdev_ioctl_data_resolve(arg, 0, sizeof(drm_version), &error);
  if (!data) {
    g_clear_error(&error);
    umockdev_ioctl_client_complete(client, -1, EFAULT);
    return true;
  }
  auto* v = reinterpret_cast<drm_version*>(data->data);
  const char* strings[3] = {"nouveau", "20120801",
                            "nVidia Riva/TNT/GeForce/Quadro/Tesla/Tegra K1+"};
  const std::size_t offsets[3] = {offsetof(drm_version, name), offsetof(drm_version, date),
                                  offsetof(drm_version, desc)};
  std::size_t* lengths[3] = {&v->name_len, &v->date_len, &v->desc_len};
  for (int i = 0; i < 3; ++i) {
    const std::size_t want = std::strlen(strings[i]);
    // Like the kernel: copy at most the buffer the caller gave, report the full length.
    if (*lengths[i] > 0) {
      const std::size_t n = *lengths[i] < want ? *lengths[i] : want;
      UMockdevIoctlData* s = umockdev_ioctl_data_resolve(data, offsets[i], n, &error);
      if (!s) {
        g_clear_error(&error);
        umockdev_ioctl_client_complete(client, -1, EFAULT);
        return true;
      }
      std::memcpy(s->data, strings[i], n);
    }
    *lengths[i] = want;
  }
  v->version_major = 1;
  v->version_minor = 4;
  v->version_patchlevel = 0;
  umockdev_ioctl_client_complete(client, 0, 0);
  return true;
}

bool answer_getparam(UMockdevIoctlClient* client, UMockdevIoctlData* arg, DeviceContext& ctx) {
  GError* error = nullptr;
  UMockdevIoctlData* data =
      umockdev_ioctl_data_resolve(arg, 0, sizeof(drm_nouveau_getparam), &error);
  if (!data) {
    g_clear_error(&error);
    umockdev_ioctl_client_complete(client, -1, EFAULT);
    return true;
  }
  auto* p = reinterpret_cast<drm_nouveau_getparam*>(data->data);
  const Gpu& g = ctx.gpu;
  const std::uint64_t fb = g.model->framebuffer.count();
  switch (p->param) {
    case NOUVEAU_GETPARAM_PCI_VENDOR:
      p->value = 0x10de;
      break;
    case NOUVEAU_GETPARAM_PCI_DEVICE:
      p->value = g.model->pci_device_ids.empty() ? 0 : g.model->pci_device_ids.front();
      break;
    case NOUVEAU_GETPARAM_BUS_TYPE:
      p->value = vgpu::nouveau_uapi::pcie;
      break;
    case NOUVEAU_GETPARAM_FB_SIZE:
      p->value = fb;
      break;
    case NOUVEAU_GETPARAM_AGP_SIZE:
      p->value = 0;
      break;
    case NOUVEAU_GETPARAM_CHIPSET_ID:
      p->value = g.model->architecture == Architecture::ada      ? 0x194
                 : g.model->architecture == Architecture::ampere ? 0x172
                                                                 : 0x164;
      break;
    case NOUVEAU_GETPARAM_EXEC_PUSH_MAX:
      p->value = 512;
      break;
    case NOUVEAU_GETPARAM_VRAM_BAR_SIZE:
      p->value = 256ull << 20;
      break;
    case NOUVEAU_GETPARAM_VRAM_USED:
      p->value = ctx.kernel->framebuffer_used(g.address);
      break;
    case NOUVEAU_GETPARAM_HAS_VMA_TILEMODE:
      p->value = 1;
      break;
    default:
      umockdev_ioctl_client_complete(client, -1, EINVAL);
      return true;
  }
  umockdev_ioctl_client_complete(client, 0, 0);
  return true;
}

gboolean handle_ioctl(UMockdevIoctlBase*, UMockdevIoctlClient* client, gpointer user) {
  auto& ctx = *static_cast<DeviceContext*>(user);
  const gulong request = umockdev_ioctl_client_get_request(client);
  UMockdevIoctlData* arg = umockdev_ioctl_client_get_arg(client);
  if (request == DRM_IOCTL_VERSION) return answer_version(client, arg);
  if (request == vgpu::nouveau_uapi::getparam_ioctl) return answer_getparam(client, arg, ctx);
  umockdev_ioctl_client_complete(client, -1, ENOTTY);
  return true;
}

}  // namespace

struct DrmEmulator::State {
  UMockdevTestbed* testbed = nullptr;
  std::vector<UMockdevIoctlBase*> handlers;
  std::vector<std::unique_ptr<DeviceContext>> contexts;
  ~State() {
    for (auto* h : handlers)
      g_object_unref(h);
    if (testbed) g_object_unref(testbed);
  }
};

DrmEmulator::DrmEmulator() = default;
DrmEmulator::~DrmEmulator() = default;

bool DrmEmulator::available() {
  return true;
}

Result<void> DrmEmulator::start(Kernel& kernel) {
  state_ = std::make_unique<State>();
  state_->testbed = umockdev_testbed_new();
  int minor = 128;
  for (const auto& g : kernel.nouveau_gpus()) {
    const std::string pci = g.address.to_string();
    const std::string node = "renderD" + std::to_string(minor);
    char ids[256];
    std::snprintf(ids, sizeof ids,
                  "A: vendor=0x10de\nA: device=0x%04x\nA: subsystem_vendor=0x10de\n"
                  "A: subsystem_device=0x1500\nA: class=0x030200\nA: revision=0xa1\n",
                  g.model->pci_device_ids.empty() ? 0u : g.model->pci_device_ids.front());
    const std::string description =
        "P: /devices/" + g.pci_root + "/" + pci + "\nE: SUBSYSTEM=pci\nE: DRIVER=nouveau\n" +
        "E: PCI_SLOT_NAME=" + pci + "\n" + ids + "L: driver=../../../bus/pci/drivers/nouveau\n\n" +
        "P: /devices/" + g.pci_root + "/" + pci + "/drm/" + node + "\nN: dri/" + node +
        "=00\nE: SUBSYSTEM=drm\nE: DEVNAME=/dev/dri/" + node +
        "\nE: DEVTYPE=drm_minor\nA: dev=226:" + std::to_string(minor) + "\nL: device=../../../" +
        pci + "\n";
    GError* error = nullptr;
    if (!umockdev_testbed_add_from_string(state_->testbed, description.c_str(), &error)) {
      std::string message = error ? error->message : "unknown error";
      g_clear_error(&error);
      return fail(Errc::internal, "umockdev: cannot add " + pci + ": " + message);
    }
    auto ctx = std::make_unique<DeviceContext>(DeviceContext{&kernel, g});
    UMockdevIoctlBase* handler = umockdev_ioctl_base_new();
    g_signal_connect(handler, "handle-ioctl", G_CALLBACK(handle_ioctl), ctx.get());
    const std::string dev = "/dev/dri/" + node;
    if (!umockdev_testbed_attach_ioctl(state_->testbed, dev.c_str(), handler, &error)) {
      std::string message = error ? error->message : "unknown error";
      g_clear_error(&error);
      g_object_unref(handler);
      return fail(Errc::internal,
                  "umockdev: cannot attach the ioctl handler to " + dev + ": " + message);
    }
    state_->handlers.push_back(handler);
    state_->contexts.push_back(std::move(ctx));
    ++minor;
  }
  return {};
}

#else

struct DrmEmulator::State {};
DrmEmulator::DrmEmulator() = default;
DrmEmulator::~DrmEmulator() = default;
bool DrmEmulator::available() {
  return false;
}
Result<void> DrmEmulator::start(Kernel&) {
  return fail(Errc::not_supported,
              "this vgpu-kernel-emu was built without umockdev (libumockdev-dev): no DRM "
              "emulation for nouveau GPUs");
}

#endif

}  // namespace vgpu::emu
