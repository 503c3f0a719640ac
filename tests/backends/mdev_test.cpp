// The mdev backend against the emulated kernel's mdev bus.
#include <fstream>

#include "emulated_host.hpp"

namespace {

using nlohmann::json;
using vgpu::Errc;
using vgpu::PciAddress;
using vgpu::Uuid;
using vgpu::test::EmulatedHost;
using vgpu::test::pci;
namespace fs = std::filesystem;

const json a16_mdev_host = {{"interface", "mdev"},
                            {"host", {{"gpus", {{{"model", "A16"}, {"count", 2}}}}}}};

// The mdev type directory whose name attribute is @p name, e.g. "NVIDIA A16-2Q".
fs::path type_dir(const EmulatedHost& host, const char* parent, const std::string& name) {
  const fs::path types =
      host.sys(std::string("class/mdev_bus/") + parent + "/mdev_supported_types");
  for (const auto& entry : fs::directory_iterator(types)) {
    std::ifstream in(entry.path() / "name");
    std::string line;
    std::getline(in, line);
    if (line == name) return entry.path();
  }
  FAIL("no mdev type named " << name);
  return {};
}

}  // namespace

TEST_CASE("mdev discovers parents and types, creates and removes mdevs", "[backends][mdev]") {
  EmulatedHost host(a16_mdev_host);
  if (!host.ok()) return;
  auto backend = host.open("mdev");
  auto gpus = backend->gpus();
  REQUIRE(gpus);
  REQUIRE(gpus->size() == 2);
  CHECK(gpus->at(1).address == pci("0000:42:00.0"));
  CHECK(gpus->at(1).model->name == "NVIDIA A16");
  CHECK(backend->supported_types(pci("0000:41:00.0"))->size() == 15);
  CHECK(backend->creatable_types(pci("0000:41:00.0"))->size() == 15);

  const Uuid uuid = Uuid::generate();
  auto made = backend->create({uuid, pci("0000:41:00.0"), "A16-2Q", 2, "vm-3"});
  REQUIRE(made);
  CHECK(made->device == (host.sys("bus/mdev/devices") / uuid.to_string()).string());
  CHECK(fs::exists(made->device));
  // One time-sliced type per GPU on mdev: every other type's available_instances drops to 0.
  CHECK(*backend->creatable_types(pci("0000:41:00.0")) == std::vector<std::string>{"A16-2Q"});

  auto list = host.open("mdev")->instances();
  REQUIRE(list);
  REQUIRE(list->size() == 1);
  CHECK(list->at(0).uuid == uuid);
  CHECK(list->at(0).type_name == "A16-2Q");
  CHECK(list->at(0).owner == "vm-3");
  CHECK(list->at(0).placement == 2);

  auto other = backend->create({Uuid::generate(), pci("0000:41:00.0"), "A16-4Q", 0, ""});
  REQUIRE_FALSE(other);
  CHECK(other.error().code() == Errc::no_capacity);
  CHECK_THAT(other.error().message(),
             Catch::Contains("available_instances is 0") && Catch::Contains("1 x nvidia-"));
  auto twice = backend->create({uuid, pci("0000:42:00.0"), "A16-2Q", 0, ""});
  REQUIRE_FALSE(twice);
  CHECK(twice.error().code() == Errc::conflict);

  host.control("open " + uuid.to_string());
  auto busy = backend->destroy(uuid);
  REQUIRE_FALSE(busy);
  CHECK(busy.error().code() == Errc::busy);
  CHECK(busy.error().os_errno() == EBUSY);
  host.control("close " + uuid.to_string());
  REQUIRE(backend->destroy(uuid));
  CHECK(backend->instances()->empty());
  CHECK(backend->destroy(uuid).error().code() == Errc::not_found);
}

TEST_CASE("mdev maps the errnos of create and remove", "[backends][mdev]") {
  EmulatedHost host(a16_mdev_host);
  if (!host.ok()) return;
  auto backend = host.open("mdev");
  SECTION("EACCES: not root") {
    host.control("fail-write create EACCES");
    auto r = backend->create({Uuid::generate(), pci("0000:41:00.0"), "A16-2Q", 0, ""});
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::permission_denied);
    CHECK_THAT(r.error().message(), Catch::Contains("needs root"));
  }
  SECTION("EUSERS from the mdev core: the race mdevctl loses") {
    // available_instances said yes, the kernel says no (another process won the race).
    host.control("fail-write create EUSERS");
    auto r = backend->create({Uuid::generate(), pci("0000:41:00.0"), "A16-2Q", 0, ""});
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::no_capacity);
    CHECK(r.error().os_errno() == EUSERS);
  }
  SECTION("EEXIST: a UUID another process just used") {
    host.control("fail-write create EEXIST");
    auto r = backend->create({Uuid::generate(), pci("0000:41:00.0"), "A16-2Q", 0, ""});
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::conflict);
  }
  SECTION("a device that vanishes before remove") {
    const Uuid uuid = Uuid::generate();
    REQUIRE(backend->create({uuid, pci("0000:41:00.0"), "A16-2Q", 0, ""}));
    host.control("fail-write remove ENODEV");
    auto r = backend->destroy(uuid);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::not_found);
    CHECK_THAT(r.error().message(), Catch::Contains("vanished"));
  }
}

TEST_CASE("mdev reads other description formats and refuses garbage", "[backends][mdev]") {
  EmulatedHost host(a16_mdev_host);
  if (!host.ok()) return;
  const fs::path two_q = type_dir(host, "0000:41:00.0", "NVIDIA A16-2Q");
  const std::string id = two_q.filename().string();
  SECTION("a name the catalog does not know: matched by the description's geometry") {
    host.control("garbage " + id + "/name Vendor Thing 2G");
    auto types = host.open("mdev")->supported_types(pci("0000:41:00.0"));
    REQUIRE(types);
    CHECK(types->size() == 15);
    CHECK(std::find(types->begin(), types->end(), "A16-2Q") != types->end());
  }
  SECTION("an Intel GVT-g style description and a foreign name stay unmatched") {
    host.control("garbage " + id + "/name i915-GVTg_V5_4");
    host.control("garbage " + id +
                 "/description low_gm_size: 128MB, high_gm_size: 512MB, fence: 4, resolution: "
                 "1920x1200, weight: 4");
    auto backend = host.open("mdev");
    auto types = backend->supported_types(pci("0000:41:00.0"));
    REQUIRE(types);
    CHECK(types->size() == 14);
    CHECK(std::find(types->begin(), types->end(), "A16-2Q") == types->end());
    CHECK(backend->gpus()->size() == 2);
  }
  SECTION("garbage in available_instances") {
    host.control("garbage " + id + "/available_instances plenty");
    auto r = host.open("mdev")->creatable_types(pci("0000:41:00.0"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::io_error);
    CHECK_THAT(r.error().message(), Catch::Contains("not a number"));
  }
}
