// The nvidia-vfio backend against the emulated kernel: the RFC's per-VF sysfs interface.
#include <fstream>

#include "emulated_host.hpp"

namespace {

using nlohmann::json;
using vgpu::Errc;
using vgpu::PciAddress;
using vgpu::Uuid;
using vgpu::test::EmulatedHost;
using vgpu::test::pci;

vgpu::sys::CreateRequest request(const std::string& type, std::uint32_t placement = 0,
                                 const char* gpu = "0000:41:00.0") {
  return {Uuid::generate(), pci(gpu), type, placement, "vm-7"};
}

json vf_state(const EmulatedHost& host, const std::string& vf) {
  for (const auto& g : host.state())
    for (const auto& v : g["vfs"])
      if (v["address"] == vf) return v;
  return nullptr;
}

const json a16_host = {
    {"interface", "vf"}, {"vfs", 8}, {"host", {{"gpus", {{{"model", "A16"}, {"count", 2}}}}}}};

}  // namespace

TEST_CASE("nvidia-vfio discovers PFs and creates and destroys vGPUs on VFs",
          "[backends][nvidia-vfio]") {
  EmulatedHost host(a16_host);
  if (!host.ok()) return;
  auto backend = host.open("nvidia-vfio");
  CHECK(backend->name() == "nvidia-vfio");

  auto gpus = backend->gpus();
  REQUIRE(gpus);
  REQUIRE(gpus->size() == 2);
  CHECK(gpus->at(0).address == pci("0000:41:00.0"));
  CHECK(gpus->at(0).model->name == "NVIDIA A16");
  CHECK(gpus->at(0).mode == vgpu::GpuMode::equal_size);
  CHECK(gpus->at(0).pci_root == "pci0000:41");

  auto info = backend->gpu_info();
  REQUIRE(info);
  CHECK(info->at(0).vendor_id == 0x10de);
  CHECK(info->at(0).device_id == 0x25b6);
  CHECK(info->at(0).driver == "nvidia");
  CHECK(info->at(0).sriov_total_vfs == 8);
  CHECK(info->at(0).sriov_num_vfs == 8);

  auto supported = backend->supported_types(pci("0000:41:00.0"));
  REQUIRE(supported);
  CHECK(supported->size() == 15);
  auto creatable = backend->creatable_types(pci("0000:41:00.0"));
  REQUIRE(creatable);
  CHECK(creatable->size() == 15);  // every time-sliced type of an empty A16

  auto rq = request("A16-4Q", 4);
  auto made = backend->create(rq);
  REQUIRE(made);
  CHECK(made->device == "0000:41:00.4");  // the first VF
  CHECK(made->uuid == rq.uuid);
  CHECK(vf_state(host, "0000:41:00.4")["current_vgpu_type"] != 0);

  // The list shrinks to the types of the active size (reference §1).
  creatable = backend->creatable_types(pci("0000:41:00.0"));
  REQUIRE(creatable);
  CHECK(*creatable == std::vector<std::string>{"A16-4Q", "A16-4A", "A16-4C"});

  // Another backend object (another process) sees the same vGPU: UUID, owner, placement.
  auto other = host.open("nvidia-vfio");
  auto list = other->instances();
  REQUIRE(list);
  REQUIRE(list->size() == 1);
  CHECK(list->at(0).uuid == rq.uuid);
  CHECK(list->at(0).type_name == "A16-4Q");
  CHECK(list->at(0).owner == "vm-7");
  CHECK(list->at(0).placement == 4);
  CHECK(list->at(0).device == "0000:41:00.4");
  CHECK(vgpu::test::fs::exists(host.root() / "run/vgpu/nvidia-vfio/0000:41:00.4"));

  auto again = backend->create({rq.uuid, pci("0000:42:00.0"), "A16-2Q", 0, ""});
  REQUIRE_FALSE(again);
  CHECK(again.error().code() == Errc::conflict);

  REQUIRE(other->destroy(rq.uuid));
  CHECK(vf_state(host, "0000:41:00.4")["current_vgpu_type"] == 0);
  CHECK_FALSE(vgpu::test::fs::exists(host.root() / "run/vgpu/nvidia-vfio/0000:41:00.4"));
  auto gone = backend->destroy(rq.uuid);
  REQUIRE_FALSE(gone);
  CHECK(gone.error().code() == Errc::not_found);
  CHECK(backend->instances()->empty());
}

TEST_CASE("nvidia-vfio maps every errno of current_vgpu_type to an actionable error",
          "[backends][nvidia-vfio]") {
  EmulatedHost host(a16_host);
  if (!host.ok()) return;
  auto backend = host.open("nvidia-vfio");
  std::vector<Uuid> made;
  for (int i = 0; i < 4; ++i) {
    auto v = backend->create(request("A16-4Q", 4u * static_cast<unsigned>(i)));
    REQUIRE(v);
    made.push_back(v->uuid);
  }

  SECTION("EINVAL: another type is active on the GPU") {
    auto r = backend->create(request("A16-2Q"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::conflict);
    CHECK(r.error().os_errno() == EINVAL);
    CHECK_THAT(r.error().message(), Catch::Contains("another vGPU type is active"));
  }
  SECTION("ENOSPC: the type's maximum is reached") {
    auto r = backend->create(request("A16-4Q"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::no_capacity);
    CHECK(r.error().os_errno() == ENOSPC);
    CHECK_THAT(r.error().message(), Catch::Contains("maximum number of vGPUs of this type"));
    // An invalid write leaves 0 on the VF.
    CHECK(vf_state(host, "0000:41:01.0")["current_vgpu_type"] == 0);
  }
  SECTION("ENODEV: the driver does not know the type id vgpu believes in") {
    // A stale id cache: the catalog and the driver disagree about A16-16Q's id.
    {
      std::ofstream cache(host.root() / "run/vgpu/nvidia-vfio/type-ids");
      cache << "9999 A16-16Q\n";
    }
    auto fresh = host.open("nvidia-vfio");
    REQUIRE(fresh->destroy(made[0]));
    auto r = fresh->create(request("A16-16Q"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::not_supported);
    CHECK(r.error().os_errno() == ENODEV);
    CHECK_THAT(r.error().message(), Catch::Contains("does not know this type id"));
  }
  SECTION("EBUSY: a VM holds the VF") {
    host.control("open 0000:41:00.4");
    auto r = backend->destroy(made[0]);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::busy);
    CHECK(r.error().os_errno() == EBUSY);
    CHECK_THAT(r.error().message(), Catch::Contains("stop the VM"));
    host.control("close 0000:41:00.4");
    CHECK(backend->destroy(made[0]));
    // A create that lands on an open VF is refused the same way.
    host.control("open 0000:41:00.4");
    auto c = backend->create(request("A16-4Q", 0));
    REQUIRE_FALSE(c);
    CHECK(c.error().code() == Errc::busy);
  }
  SECTION("EACCES and EPERM: not root") {
    REQUIRE(backend->destroy(made[0]));
    host.control("fail-write current_vgpu_type EACCES");
    auto r = backend->create(request("A16-4Q", 0));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::permission_denied);
    CHECK_THAT(r.error().message(), Catch::Contains("run as root"));
    host.control("clear");
    host.control("fail-write current_vgpu_type EPERM");
    auto d = backend->destroy(made[1]);
    REQUIRE_FALSE(d);
    CHECK(d.error().code() == Errc::permission_denied);
  }
}

TEST_CASE("nvidia-vfio survives vanished VFs and garbage in sysfs files",
          "[backends][nvidia-vfio]") {
  EmulatedHost host(a16_host);
  if (!host.ok()) return;
  auto backend = host.open("nvidia-vfio");
  auto v = backend->create(request("A16-2Q"));
  REQUIRE(v);

  SECTION("a VF that vanishes takes its vGPU with it") {
    host.control("unplug 0000:41:00.4");
    auto list = backend->instances();
    REQUIRE(list);
    CHECK(list->empty());
    auto r = backend->destroy(v->uuid);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::not_found);
  }
  SECTION("a VF that vanishes between choosing and writing") {
    host.control("fail-write 0000:41:00.5/nvidia/current_vgpu_type ENOENT");
    auto r = backend->create(request("A16-2Q", 2));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::not_found);
    CHECK_THAT(r.error().message(), Catch::Contains("vanished"));
  }
  SECTION("garbage in creatable_vgpu_types") {
    host.control("garbage creatable_vgpu_types this is not a type list");
    auto r = backend->creatable_types(pci("0000:42:00.0"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::io_error);
    CHECK_THAT(r.error().message(),
               Catch::Contains("line 1") && Catch::Contains("expected \"ID : vGPU name\""));
  }
  SECTION("garbage in current_vgpu_type") {
    host.control("garbage 0000:41:00.4/nvidia/current_vgpu_type seven");
    auto r = backend->instances();
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == Errc::io_error);
    CHECK_THAT(r.error().message(), Catch::Contains("not a number"));
  }
}

TEST_CASE("nvidia-vfio gives foreign vGPUs stable UUIDs and enables VFs when it needs them",
          "[backends][nvidia-vfio]") {
  const json spec = {{"interface", "vf"},
                     {"vfs", 4},
                     {"overrides", {{"0000:42:00.0", {{"vfs_enabled", false}}}}},
                     {"host",
                      {{"gpus", {{{"model", "A16"}, {"count", 2}}}},
                       {"vgpus",
                        {{{"uuid", "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01"},
                          {"type", "A16-2Q"},
                          {"gpu", "0000:41:00.0"}}}}}}};
  EmulatedHost host(spec);
  if (!host.ok()) return;
  auto backend = host.open("nvidia-vfio");
  auto first = backend->instances();
  if (!first) FAIL(first.error().message());
  REQUIRE(first->size() == 1);
  // The kernel keeps no UUID for a VF: vgpu derives one from the VF and the type id.
  CHECK(first->at(0).uuid.to_string() != "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01");
  CHECK(first->at(0).device == "0000:41:00.4");
  CHECK(first->at(0).type_name == "A16-2Q");
  CHECK(host.open("nvidia-vfio")->instances()->at(0).uuid == first->at(0).uuid);

  auto gpus = backend->gpu_info();
  REQUIRE(gpus);
  CHECK(gpus->at(1).sriov_num_vfs == 0);
  auto made = backend->create(request("A16-8Q", 8, "0000:42:00.0"));
  REQUIRE(made);
  CHECK(made->device == "0000:42:00.4");
  CHECK(backend->gpu_info()->at(1).sriov_num_vfs == 4);
  REQUIRE(backend->destroy(first->at(0).uuid));
  CHECK(backend->instances()->size() == 1);
}

TEST_CASE("nvidia-vfio chooses mixed-size placements through vgpu_params",
          "[backends][nvidia-vfio]") {
  const json spec = {{"interface", "vf"},
                     {"vfs", 8},
                     {"host", {{"gpus", {{{"model", "L40S"}, {"mode", "mixed"}}}}}}};
  EmulatedHost host(spec);
  if (!host.ok()) return;
  auto options = host.options();
  options.gpu_modes = {{pci("0000:41:00.0"), vgpu::GpuMode::mixed_size}};
  auto backend = host.open("nvidia-vfio", options);
  CHECK(backend->gpus()->at(0).mode == vgpu::GpuMode::mixed_size);

  auto big = backend->create(request("L40S-24Q", 24));
  REQUIRE(big);
  CHECK(vf_state(host, "0000:41:00.4")["placement"] == 24);
  std::ifstream params(host.sys("bus/pci/devices/0000:41:00.4/nvidia/vgpu_params"));
  std::string text;
  std::getline(params, text);
  CHECK(text == "vgpu-placement-id=24");

  // Without the hint, the mode shows in the placement parameters of existing vGPUs.
  auto plain = host.open("nvidia-vfio");
  CHECK(plain->gpus()->at(0).mode == vgpu::GpuMode::mixed_size);

  auto overlap = backend->create(request("L40S-12Q", 36));
  REQUIRE_FALSE(overlap);
  CHECK(overlap.error().code() == Errc::no_capacity);
  CHECK_THAT(overlap.error().message(), Catch::Contains("overlaps"));
  auto invalid = backend->create(request("L40S-12Q", 5));
  REQUIRE_FALSE(invalid);
  CHECK(invalid.error().code() == Errc::invalid_argument);
  auto small = backend->create(request("L40S-12Q", 12));
  REQUIRE(small);
  CHECK(vf_state(host, "0000:41:00.5")["placement"] == 12);
  auto list = plain->instances();
  REQUIRE(list);
  REQUIRE(list->size() == 2);
  CHECK(list->at(1).placement == 12);
}
