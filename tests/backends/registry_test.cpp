// Opening backends by name, "auto" detection, registration and the interface version range.
#include "emulated_host.hpp"

namespace {

using vgpu::Errc;
using namespace vgpu::sys;

class OldBackend final : public Backend {
 public:
  std::string_view name() const override { return "old"; }
  std::uint32_t interface_version() const override { return 1; }
  vgpu::Result<std::vector<vgpu::PhysicalGpu>> gpus() override {
    return std::vector<vgpu::PhysicalGpu>{};
  }
  vgpu::Result<std::vector<vgpu::VgpuInstance>> instances() override {
    return std::vector<vgpu::VgpuInstance>{};
  }
  vgpu::Result<vgpu::VgpuInstance> create(const CreateRequest&) override {
    return vgpu::fail(Errc::not_supported, "no");
  }
  vgpu::Result<void> destroy(const vgpu::Uuid&) override {
    return vgpu::fail(Errc::not_supported, "no");
  }
};

}  // namespace

TEST_CASE("open_backend knows the built-in names and refuses unknown ones", "[backends]") {
  auto names = backend_names();
  for (const char* n : {"auto", "mdev", "nouveau", "nvidia-vfio", "sim"})
    CHECK(std::find(names.begin(), names.end(), n) != names.end());
  auto bad = open_backend("nvidia", {});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == Errc::invalid_argument);
  CHECK_THAT(bad.error().message(), Catch::Contains("unknown backend") &&
                                        Catch::Contains("auto, mdev, nouveau, nvidia-vfio, sim"));
  auto sim = open_backend("sim", {});
  REQUIRE(sim);
  CHECK((*sim)->gpus()->size() == 7);  // the built-in simulated host
}

TEST_CASE("register_backend adds factories, and old interface versions are refused", "[backends]") {
  CHECK(register_backend("auto",
                         [](const BackendOptions&) -> vgpu::Result<std::unique_ptr<Backend>> {
                           return std::unique_ptr<Backend>(std::make_unique<OldBackend>());
                         })
            .error()
            .code() == Errc::invalid_argument);
  CHECK_FALSE(register_backend("x", nullptr));
  REQUIRE(register_backend("test-old", [](const BackendOptions& o) {
    // The library fills in every default before calling a factory.
    CHECK(o.catalog != nullptr);
    CHECK_FALSE(o.sysfs_root.empty());
    return vgpu::Result<std::unique_ptr<Backend>>(std::make_unique<OldBackend>());
  }));
  auto names = backend_names();
  CHECK(std::find(names.begin(), names.end(), "test-old") != names.end());
  auto old = open_backend("test-old", {});
  REQUIRE_FALSE(old);
  CHECK(old.error().code() == Errc::version_mismatch);
  CHECK_THAT(old.error().message(), Catch::Contains("rebuild the backend"));
}

TEST_CASE("auto finds nothing on an empty root and says what it looked for", "[backends]") {
  char pattern[] = "/tmp/vgpu-empty-root.XXXXXX";
  REQUIRE(::mkdtemp(pattern));
  BackendOptions o;
  o.sysfs_root = pattern;
  o.dev_root = pattern;
  auto none = open_backend("auto", o);
  std::filesystem::remove_all(pattern);
  REQUIRE_FALSE(none);
  CHECK(none.error().code() == Errc::not_found);
  CHECK_THAT(none.error().message(), Catch::Contains("no vGPU-capable GPU found") &&
                                         Catch::Contains("sys/class/mdev_bus") &&
                                         Catch::Contains("current_vgpu_type") &&
                                         Catch::Contains("nouveau"));
}

TEST_CASE("auto picks the backend of the emulated host", "[backends]") {
  {
    vgpu::test::EmulatedHost vf(
        {{"interface", "vf"}, {"vfs", 2}, {"host", {{"gpus", {{{"model", "A40"}}}}}}});
    if (!vf.ok()) return;
    CHECK(vf.open("auto")->name() == "nvidia-vfio");
  }
  vgpu::test::EmulatedHost mdev({{"interface", "mdev"}, {"host", {{"gpus", {{{"model", "T4"}}}}}}});
  if (!mdev.ok()) return;
  auto b = mdev.open("auto");
  CHECK(b->name() == "mdev");
  CHECK(b->gpus()->at(0).model->name == "Tesla T4");
}
