// The simulated backend enforces the same rules as the hardware.
#include <catch2/catch.hpp>

#include "vgpu/catalog_io.hpp"
#include "vgpu/sys/backend.hpp"

using namespace vgpu;

TEST_CASE("The simulated backend creates, lists and destroys vGPUs", "[sim]") {
  auto backend = sys::make_simulated_backend(default_host(builtin_catalog()).value()).value();
  REQUIRE(sys::check_interface_version(*backend));
  CHECK(backend->name() == "sim");
  auto gpus = backend->gpus();
  REQUIRE(gpus);
  const PciAddress a16 = gpus->front().address;
  const Uuid u = Uuid::generate();
  auto made = backend->create({u, a16, "A16-8Q", 8, "vm-1"});
  REQUIRE(made);
  CHECK(made->placement == 8);
  CHECK(made->owner == "vm-1");
  CHECK(backend->instances()->size() == 1);
  // The hardware refuses what breaks its rules.
  CHECK(backend->create({Uuid::generate(), a16, "A16-4Q", 0, ""}).error().code() ==
        Errc::no_capacity);
  CHECK(backend->create({u, gpus->back().address, "A100D-1-10C", 0, ""}).error().code() ==
        Errc::conflict);
  CHECK(backend->create({Uuid::generate(), *PciAddress::parse("0000:01:00.0"), "A16-8Q", 0, ""})
            .error()
            .code() == Errc::not_found);
  CHECK(backend->create({Uuid::generate(), a16, "L4-2Q", 0, ""}).error().code() ==
        Errc::not_supported);
  REQUIRE(backend->destroy(u));
  CHECK(backend->instances()->empty());
  CHECK(backend->destroy(u).error().code() == Errc::not_found);
  CHECK(backend->create({Uuid::generate(), a16, "A16-4Q", 0, ""}));
}

TEST_CASE("A hand-built host with impossible vGPUs is refused, not dropped", "[sim]") {
  HostDescription host = default_host(builtin_catalog()).value();
  const PciAddress a16 = host.gpus.front().address;
  host.vgpus.push_back({Uuid::generate(), "A16-2Q", a16, 0, "", {}, {}});
  CHECK(sys::make_simulated_backend(host));
  host.vgpus.push_back({Uuid::generate(), "A16-4Q", a16, 4, "", {}, {}});
  auto mixed = sys::make_simulated_backend(host);
  REQUIRE_FALSE(mixed);
  CHECK(mixed.error().message() ==
        "simulated host: vgpus[1]: GPU 0000:41:00.0 holds A16-2Q vGPUs (equal-size mode); "
        "A16-4Q cannot join");
  host.vgpus.back() = {
      Uuid::generate(), "A16-2Q", *PciAddress::parse("0000:01:00.0"), 0, "", {}, {}};
  CHECK(sys::make_simulated_backend(host).error().code() == Errc::not_found);
}

TEST_CASE("A backend of an unsupported interface version is refused", "[sim]") {
  struct Future : sys::Backend {
    std::string_view name() const override { return "future"; }
    std::uint32_t interface_version() const override { return sys::backend_interface_version + 1; }
    Result<std::vector<PhysicalGpu>> gpus() override { return std::vector<PhysicalGpu>{}; }
    Result<std::vector<VgpuInstance>> instances() override { return std::vector<VgpuInstance>{}; }
    Result<VgpuInstance> create(const sys::CreateRequest&) override {
      return fail(Errc::not_supported, "no");
    }
    Result<void> destroy(const Uuid&) override { return {}; }
  } future;
  auto r = sys::check_interface_version(future);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == Errc::version_mismatch);
  CHECK_THAT(r.error().message(),
             Catch::Contains("backend 'future' implements interface version " +
                             std::to_string(sys::backend_interface_version + 1)));
}
