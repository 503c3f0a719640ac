// The nouveau backend through unmodified libdrm against umockdev's emulated DRM devices.
// Hidden tests ([.nouveau]): ctest runs them under the emulator, which sets up umockdev
// (`vgpu-kernel-emu --host tests/backends/hosts/nouveau.json -- vgpu_tests [nouveau]`).
#include <fcntl.h>
#include <unistd.h>
#include <xf86drm.h>

#include <array>
#include <cstdlib>

#include "backends/nouveau/nouveau_uapi.hpp"
#include "emulated_host.hpp"

namespace {

using vgpu::Errc;
using vgpu::PciAddress;
using vgpu::Uuid;
using vgpu::test::pci;

bool under_emulator() {
  if (std::getenv("UMOCKDEV_DIR") && std::getenv("VGPU_SYSFS_ROOT")) return true;
  FAIL("run these tests under vgpu-kernel-emu (it sets up umockdev and VGPU_SYSFS_ROOT)");
  return false;
}

std::unique_ptr<vgpu::sys::Backend> open(const char* name) {
  auto b = vgpu::sys::open_backend(name, {});
  if (!b) FAIL(b.error().message());
  return std::move(*b);
}

}  // namespace

TEST_CASE("nouveau: discovery and capacity through libdrm", "[.nouveau]") {
  if (!under_emulator()) return;
  auto backend = open("nouveau");
  auto gpus = backend->gpus();
  REQUIRE(gpus);
  REQUIRE(gpus->size() == 2);
  CHECK(gpus->at(0).model->name == "NVIDIA RTX 6000 Ada");
  CHECK(gpus->at(1).model->name == "NVIDIA L4");
  auto info = backend->gpu_info();
  REQUIRE(info);
  const auto& ada = info->at(0);
  CHECK(ada.driver == "nouveau");
  CHECK(ada.interface == "nouveau+nvidia-vfio");
  CHECK(ada.device_id == 0x26b1);
  CHECK(ada.render_node == "/dev/dri/renderD128");
  REQUIRE(ada.framebuffer);
  CHECK(*ada.framebuffer == gpus->at(0).model->framebuffer);
  REQUIRE(ada.framebuffer_used);
  CHECK(ada.framebuffer_used->count() == 0);
  CHECK(ada.chipset == 0x194u);
  CHECK(ada.sriov_total_vfs == 4);
  CHECK(info->at(1).interface == "nouveau");
}

TEST_CASE("nouveau: unknown GETPARAMs fail with EINVAL as in nouveau_abi16.c", "[.nouveau]") {
  if (!under_emulator()) return;
  const int fd = ::open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  drm_nouveau_getparam p{};
  p.param = NOUVEAU_GETPARAM_VRAM_BAR_SIZE;
  CHECK(drmCommandWriteRead(fd, DRM_NOUVEAU_GETPARAM, &p, sizeof p) == 0);
  CHECK(p.value == 256u << 20);
  p.param = 99;
  CHECK(drmCommandWriteRead(fd, DRM_NOUVEAU_GETPARAM, &p, sizeof p) == -EINVAL);
  ::close(fd);
}

TEST_CASE("nouveau: vGPUs through the VF interface, and framebuffer use follows", "[.nouveau]") {
  if (!under_emulator()) return;
  auto backend = open("auto");
  CHECK(backend->name() == "nouveau");
  const Uuid uuid = Uuid::generate();
  auto made = backend->create({uuid, pci("0000:41:00.0"), "RTX 6000 Ada-12Q", 0, "vm-1"});
  if (!made) FAIL(made.error().message());
  CHECK(made->device == "0000:41:00.4");
  CHECK(backend->instances()->size() == 1);
  CHECK(backend->gpu_info()->at(0).framebuffer_used->in_mib() == 12288);
  auto creatable = backend->creatable_types(pci("0000:41:00.0"));
  REQUIRE(creatable);
  CHECK(std::find(creatable->begin(), creatable->end(), "RTX 6000 Ada-12Q") != creatable->end());
  CHECK(std::find(creatable->begin(), creatable->end(), "RTX 6000 Ada-6Q") == creatable->end());

  auto no_vfs = backend->create({Uuid::generate(), pci("0000:42:00.0"), "L4-2Q", 0, ""});
  REQUIRE_FALSE(no_vfs);
  CHECK(no_vfs.error().code() == Errc::not_supported);
  CHECK_THAT(no_vfs.error().message(), Catch::Contains("no vGPU VF interface"));
  CHECK(backend->creatable_types(pci("0000:42:00.0"))->empty());

  REQUIRE(backend->destroy(uuid));
  CHECK(backend->instances()->empty());
}

TEST_CASE("nouveau: vgpuctl --backend nouveau", "[.nouveau]") {
  if (!under_emulator()) return;
  FILE* p = ::popen(VGPUCTL_PATH " --backend nouveau --json gpus", "r");
  REQUIRE(p);
  std::string out;
  std::array<char, 4096> buf{};
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;)
    out.append(buf.data(), n);
  CHECK(::pclose(p) == 0);
  auto j = nlohmann::json::parse(out);
  REQUIRE(j.size() == 2);
  CHECK(j[0]["model"] == "NVIDIA RTX 6000 Ada");
  CHECK(j[1]["address"] == "0000:42:00.0");
}
