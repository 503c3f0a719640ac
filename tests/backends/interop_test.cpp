// The real tools against the same emulated kernel: Debian's mdevctl (in a private mount
// namespace over /sys and /etc/mdevctl.d) must agree with vgpu, and vgpuctl --backend must
// work under the emulator as on a real host.
#include <sys/wait.h>

#include <array>
#include <map>
#include <set>

#include "../support/process.hpp"
#include "emulated_host.hpp"

namespace {

using nlohmann::json;
using vgpu::PciAddress;
using vgpu::Uuid;
using vgpu::test::EmulatedHost;
using vgpu::test::mdevctl_usable;
using vgpu::test::shell;

// mdevctl on the emulated tree of @p host.
vgpu::test::Run mdevctl(const EmulatedHost& host, const std::string& args) {
  return vgpu::test::mdevctl(host.root(), args);
}

}  // namespace

TEST_CASE("mdevctl agrees with vgpu on types and devices", "[backends][mdevctl]") {
  if (!mdevctl_usable()) return;
  EmulatedHost host({{"interface", "mdev"},
                     {"host", {{"gpus", {{{"model", "T4"}, {"count", 2}}, {{"model", "A16"}}}}}}});
  if (!host.ok()) return;
  auto backend = host.open("mdev");
  const auto catalog = host.options().catalog;
  const Uuid mine = Uuid::generate();
  REQUIRE(backend->create({mine, *PciAddress::parse("0000:41:00.0"), "T4-4Q", 0, "vm-1"}));

  auto types = mdevctl(host, "types --dumpjson");
  REQUIRE(types.code == 0);
  // mdevctl: [{"<parent>": [{"<type id>": {"name", "available_instances", ...}}, ...]}]
  std::map<std::string, std::string> type_names;  // mdev type id -> canonical name
  const json types_doc = json::parse(types.out);
  for (const auto& [parent, list] : types_doc.at(0).items()) {
    auto address = *PciAddress::parse(parent);
    std::set<std::string> theirs_creatable, theirs_all;
    for (const auto& entry : list)
      for (const auto& [id, t] : entry.items()) {
        auto ref = catalog->find_type(t["name"].get<std::string>());
        REQUIRE(ref);
        type_names[id] = ref->type->name;
        theirs_all.insert(ref->type->name);
        if (t["available_instances"].get<int>() > 0) theirs_creatable.insert(ref->type->name);
      }
    auto supported = backend->supported_types(address);
    auto creatable = backend->creatable_types(address);
    REQUIRE(supported);
    REQUIRE(creatable);
    CHECK(std::set<std::string>(supported->begin(), supported->end()) == theirs_all);
    CHECK(std::set<std::string>(creatable->begin(), creatable->end()) == theirs_creatable);
  }
  CHECK(type_names.size() == 12 + 15);  // T4 and A16 time-sliced types

  // A device mdevctl starts is one vgpu lists, and the other way round.
  const Uuid theirs = Uuid::generate();
  std::string a16_2q;
  for (const auto& [id, name] : type_names)
    if (name == "A16-2Q") a16_2q = id;
  auto start = mdevctl(host, "start -u " + theirs.to_string() + " -p 0000:43:00.0 -t " + a16_2q);
  REQUIRE(start.code == 0);
  auto list = mdevctl(host, "list --dumpjson");
  REQUIRE(list.code == 0);
  std::set<std::tuple<std::string, std::string, std::string>> from_mdevctl, from_vgpu;
  const json list_doc = json::parse(list.out);
  for (const auto& [parent, devices] : list_doc.at(0).items())
    for (const auto& d : devices)
      for (const auto& [uuid, attrs] : d.items())
        from_mdevctl.insert({uuid, parent, type_names[attrs["mdev_type"].get<std::string>()]});
  auto ours = backend->instances();
  REQUIRE(ours);
  for (const auto& v : *ours)
    from_vgpu.insert({v.uuid.to_string(), v.gpu.to_string(), v.type_name});
  CHECK(from_mdevctl == from_vgpu);
  CHECK(from_vgpu.size() == 2);
  REQUIRE(backend->destroy(theirs));
  CHECK(mdevctl(host, "list").out.find(theirs.to_string()) == std::string::npos);
}

TEST_CASE("vgpuctl --backend works against the emulated kernel", "[backends][cli]") {
  const std::string emu =
      std::string(VGPU_KERNEL_EMU_PATH) + " --host " + VGPU_SOURCE_DIR + "/tests/backends/hosts/";
  const std::string ctl = std::string(" -- ") + VGPUCTL_PATH;
  if (::access("/dev/fuse", R_OK | W_OK) != 0) {
    WARN("=== FUSE UNAVAILABLE: vgpuctl --backend NOT TESTED ===");
    return;
  }
  auto vf = shell(emu + "nvidia-vfio.json" + ctl + " --backend nvidia-vfio --json gpus");
  REQUIRE(vf.code == 0);
  auto gpus = json::parse(vf.out);
  REQUIRE(gpus.size() == 5);
  CHECK(gpus[4]["model"] == "NVIDIA L40S");

  auto created = shell(emu + "nvidia-vfio.json" + ctl +
                       " --backend auto --json create --type A16-2Q --count 3");
  REQUIRE(created.code == 0);
  CHECK(json::parse(created.out)["created"].size() == 3);

  auto md = shell(emu + "mdev.json" + ctl + " --backend mdev types --creatable --gpu 0000:41:00.0");
  REQUIRE(md.code == 0);
  CHECK_THAT(md.out, Catch::Contains("T4-16Q") && Catch::Contains("T4-1B"));

  auto none =
      shell("VGPU_SYSFS_ROOT=/nonexistent " + std::string(VGPUCTL_PATH) + " --backend auto gpus");
  CHECK(none.code != 0);
  CHECK_THAT(none.out, Catch::Contains("no vGPU-capable GPU found"));
  auto bad = shell(std::string(VGPUCTL_PATH) + " --backend quantum gpus");
  CHECK(bad.code == 2);
  CHECK_THAT(bad.out, Catch::Contains("valid backends: auto, mdev, nouveau, nvidia-vfio, sim"));
}
