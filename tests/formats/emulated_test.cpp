// The exports of kernel hosts against the real tools on the emulated kernel
// (tools/vgpu-kernel-emu).
//
// mdev host: vgpuctl and Debian's mdevctl run in a private mount namespace where the emulated
// tree is mounted over /sys, /run and /etc/mdevctl.d, as on a real host (the ledger then
// records /sys/bus/mdev/devices/UUID, which fits it). mdevctl defines the devices from the
// exported --jsonfile documents and then lists exactly the exported definitions; the exported
// node devices name the kernel's type ids with mdevctl's available instances, and validate
// with libvirt's schema.
//
// nvidia-vfio host: its VF vGPUs become PCI <hostdev>s that libvirt's domain schema accepts,
// and mdevctl definitions of them are refused.
#include <regex>
#include <set>

#include "../backends/emulated_host.hpp"
#include "support.hpp"

namespace {

using namespace formats_test;
using vgpu::test::EmulatedHost;

// Runs @p command (sh) in a mount namespace where @p host's tree is the machine's.
vgpu::test::Run on_host(const EmulatedHost& host, const std::string& command) {
  const std::string root = host.root().string();
  std::string mounts;
  for (const char* dir : {"/sys", "/run", "/etc/mdevctl.d"})
    mounts += "mount --bind " + root + dir + " " + dir + " && ";
  return vgpu::test::run("unshare -m sh -c '" + mounts + "env -u VGPU_SYSFS_ROOT " + command + "'");
}

vgpu::test::Run vgpuctl(const EmulatedHost& host, const std::string& args) {
  return on_host(host, std::string(VGPUCTL_PATH) + " --backend mdev " + args);
}

// mdevctl's `list --dumpjson` as a set of "parent uuid definition" for comparison.
std::set<std::string> definitions(const json& list) {
  std::set<std::string> out;
  for (const auto& by_parent : list)
    for (const auto& [parent, devices] : by_parent.items())
      for (const auto& d : devices)
        for (const auto& [uuid, config] : d.items())
          out.insert(parent + " " + uuid + " " + config.dump());
  return out;
}

}  // namespace

TEST_CASE("mdevctl defines the exported devices on the emulated kernel", "[formats][mdevctl]") {
  if (!vgpu::test::mdevctl_usable()) return;
  EmulatedHost host({{"interface", "mdev"},
                     {"host", {{"gpus", {{{"model", "T4"}, {"count", 2}}, {{"model", "A16"}}}}}}});
  if (!host.ok()) return;
  std::vector<std::string> made;
  for (const char* args : {"create --type T4-4Q --gpu 0000:41:00.0",
                           "create --type A16-2Q --count 2 --gpu 0000:43:00.0"}) {
    auto r = vgpuctl(host, std::string("--json ") + args);
    INFO(r.err);
    REQUIRE(r.code == 0);
    const json created = json::parse(r.out);
    for (const auto& v : created["created"])
      made.push_back(v["uuid"]);
  }
  REQUIRE(made.size() == 3);

  // The node devices carry the kernel's type ids and mdevctl's available instances.
  auto nodedev = vgpuctl(host, "export --format libvirt-nodedev");
  REQUIRE(nodedev.code == 0);
  ScratchDir dir;
  std::set<std::string> ours, theirs;
  const std::regex device("<device>[\\s\\S]*?</device>\n");
  const std::regex name("<name>pci_([0-9a-f]{4})_([0-9a-f]{2})_([0-9a-f]{2})_([0-7])</name>");
  const std::regex type("<type id='([^']+)'>[\\s\\S]*?<availableInstances>([0-9]+)<");
  for (auto d = std::sregex_iterator(nodedev.out.begin(), nodedev.out.end(), device);
       d != std::sregex_iterator(); ++d) {
    const std::string xml = d->str();
    vgpu::test::require_libvirt_valid(dir.write("gpu" + std::to_string(ours.size()) + ".xml", xml),
                                      "nodedev");
    std::smatch n;
    REQUIRE(std::regex_search(xml, n, name));
    const std::string parent = n[1].str() + ":" + n[2].str() + ":" + n[3].str() + "." + n[4].str();
    for (auto t = std::sregex_iterator(xml.begin(), xml.end(), type); t != std::sregex_iterator();
         ++t)
      ours.insert(parent + " " + (*t)[1].str() + " " + (*t)[2].str());
  }
  auto types = vgpu::test::mdevctl(host.root(), "types --dumpjson");
  REQUIRE(types.code == 0);
  const json types_doc = json::parse(types.out);
  for (const auto& [parent, list] : types_doc.at(0).items())
    for (const auto& entry : list)
      for (const auto& [id, t] : entry.items())
        theirs.insert(parent + " " + id + " " +
                      std::to_string(t["available_instances"].get<int>()));
  CHECK(ours == theirs);
  CHECK(ours.size() == 12 + 12 + 15);

  // One device through `mdevctl define --jsonfile`, as docs/ecosystem.md shows.
  const std::string file = (dir.path() / "device.json").string();
  REQUIRE(vgpuctl(host, "export --format mdevctl --uuid " + made[0] + " --output " + file).code ==
          0);
  auto defined = on_host(
      host, "mdevctl define --jsonfile " + file + " --uuid " + made[0] + " --parent 0000:41:00.0");
  INFO(defined.out << defined.err);
  REQUIRE(defined.code == 0);
  auto listed = on_host(host, "mdevctl list --defined");
  REQUIRE(listed.code == 0);
  CHECK_THAT(listed.out, Catch::Contains(made[0] + " 0000:41:00.0") && Catch::Contains("auto"));

  // The others from the list export; then mdevctl's own listing is the export.
  auto list = vgpuctl(host, "export --format mdevctl");
  REQUIRE(list.code == 0);
  const json exported = json::parse(list.out);
  for (const auto& [parent, devices] : exported.at(0).items())
    for (const auto& d : devices)
      for (const auto& [uuid, config] : d.items()) {
        if (uuid == made[0]) continue;
        const auto f = dir.write(uuid + ".json", config.dump());
        REQUIRE(on_host(host, "mdevctl define --jsonfile " + f.string() + " --uuid " + uuid +
                                  " --parent " + parent)
                    .code == 0);
      }
  auto dump = on_host(host, "mdevctl list --defined --dumpjson");
  REQUIRE(dump.code == 0);
  CHECK(definitions(json::parse(dump.out)) == definitions(exported));
  CHECK(definitions(exported).size() == 3);
}

TEST_CASE("VF vGPUs of the emulated nvidia-vfio kernel become PCI hostdevs", "[formats][libvirt]") {
  if (::access("/dev/fuse", R_OK | W_OK) != 0) {
    WARN("=== FUSE UNAVAILABLE: VF hostdevs NOT TESTED ===");
    return;
  }
  ScratchDir dir;
  const std::string ctl = std::string(VGPUCTL_PATH) + " --backend nvidia-vfio ";
  const std::string script =
      ctl + "create --type A16-2Q --count 2 --gpu 0000:41:00.0 >/dev/null && " + ctl +
      "export --format libvirt-hostdev && " + ctl + "export --format mdevctl";
  auto r = vgpu::test::run(std::string(VGPU_KERNEL_EMU_PATH) + " --host " + VGPU_SOURCE_DIR +
                           "/tests/backends/hosts/nvidia-vfio.json -- sh -c '" + script + "'");
  INFO(r.err);
  CHECK(r.code == 1);  // mdevctl refuses VFs, after the hostdevs were printed
  CHECK_THAT(r.err, Catch::Contains("is the SR-IOV VF 0000:41:00.") &&
                        Catch::Contains("mdevctl cannot define it"));
  const std::regex vf("<address domain='0x0000' bus='0x41' slot='0x00' function='0x[1-7]'/>");
  CHECK(std::distance(std::sregex_iterator(r.out.begin(), r.out.end(), vf),
                      std::sregex_iterator()) == 2);
  const auto domain =
      dir.write("domain.xml",
                "<domain type='kvm'><name>vm</name><memory unit='MiB'>1024</memory><os><type "
                "arch='x86_64'>hvm</type></os><devices>" +
                    r.out + "</devices></domain>");
  vgpu::test::require_libvirt_valid(domain, "domain");
}
