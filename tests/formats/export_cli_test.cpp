// `vgpuctl export` and `vgpuctl apply --format nvidia-vgpu-config` as an admin runs them on a
// shared simulated host: output, --output, options that belong to other formats, exit codes.
#include "support.hpp"

namespace {

using namespace formats_test;

struct Host {
  ScratchDir dir;
  std::string file = dir.write("host.json", R"({"gpus": [{"model": "A16", "count": 2},
      {"model": "L40S", "mode": "mixed"}]})")
                         .string();
  vgpu::test::Run ctl(const std::string& args) const {
    return vgpu::test::run(std::string(VGPUCTL_PATH) + " --host " + file + " " + args);
  }
};

}  // namespace

TEST_CASE("vgpuctl export writes every format from the host's state", "[formats][cli]") {
  Host h;
  auto made = h.ctl("--json create --type A16-2Q --count 3 --gpu 0000:41:00.0");
  REQUIRE(made.code == 0);
  const std::string uuid = json::parse(made.out)["created"][0]["uuid"];

  auto nodedev = h.ctl("export --format libvirt-nodedev --gpu 0000:41:00.0");
  CHECK(nodedev.code == 0);
  CHECK_THAT(nodedev.out, Catch::Contains("<availableInstances>5</availableInstances>"));
  auto hostdev = h.ctl("export --format libvirt-hostdev --uuid " + uuid);
  CHECK(hostdev.code == 0);
  CHECK_THAT(hostdev.out, Catch::Contains("<address uuid='" + uuid + "'/>"));
  auto mdevctl = h.ctl("export --format mdevctl --uuid " + uuid + " --mdevctl-start manual");
  CHECK(mdevctl.code == 0);
  CHECK(json::parse(mdevctl.out)["start"] == "manual");
  auto placement = h.ctl("export --format placement --node compute-7 --type L40S-8Q");
  CHECK(placement.code == 0);
  CHECK(json::parse(placement.out)["resource_providers"].size() == 2);
  auto dra = h.ctl("--json export --format dra --node compute-7 --gpu 0000:43:00.0");
  CHECK(dra.code == 0);
  CHECK(json::parse(dra.out)["items"][0]["spec"]["nodeName"] == "compute-7");
  dra = h.ctl("--json export --format dra --node compute-7 --dra-generation 42");
  CHECK(dra.code == 0);
  CHECK(json::parse(dra.out)["items"][0]["spec"]["pool"]["generation"] == 42);
  const std::string out = (h.dir.path() / "cfg.yaml").string();
  auto config = h.ctl("export --format nvidia-vgpu-config --config mine --output " + out);
  CHECK(config.code == 0);
  CHECK(config.out.empty());
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Catch::Contains("  mine:\n  - devices: [0]\n    vgpu-devices:\n"
                                   "      A16-2Q: 3\n"));

  // The config brings a fresh copy of the host to the same state; --prune removes the rest.
  Host copy;
  REQUIRE(copy.ctl("create --type L40S-4Q").code == 0);
  auto applied = copy.ctl("--json apply --format nvidia-vgpu-config --config mine --prune " + out);
  INFO(applied.err);
  REQUIRE(applied.code == 0);
  CHECK(json::parse(applied.out)["created"].size() == 3);
  CHECK(json::parse(applied.out)["destroyed"].size() == 1);
  CHECK(copy.ctl("export --format nvidia-vgpu-config --config mine").out == text);
}

TEST_CASE("vgpuctl export says on stderr why an export is empty", "[formats][cli]") {
  Host h;
  for (const char* format : {"libvirt-hostdev", "mdevctl"}) {
    auto r = h.ctl(std::string("export --format ") + format);
    INFO(format);
    CHECK(r.code == 0);
    CHECK_THAT(r.err, Catch::Contains("note: no active vGPU on this host, so nothing to export"));
  }
  auto r = h.ctl("export --format placement --node n1");
  CHECK(r.code == 0);
  CHECK(json::parse(r.out)["resource_providers"].empty());
  CHECK_THAT(r.err, Catch::Contains("give the types to offer with --type TYPE"));
  REQUIRE(h.ctl("create --type A16-2Q --gpu 0000:41:00.0").code == 0);
  r = h.ctl("export --format mdevctl --gpu 0000:42:00.0");
  CHECK_THAT(r.err, Catch::Contains("no active vGPU on this GPU"));
  for (const char* args : {"export --format mdevctl", "export --format placement --node n1"}) {
    r = h.ctl(args);
    INFO(args);
    CHECK(r.code == 0);
    CHECK(r.err.empty());
  }
}

TEST_CASE("vgpuctl export refuses what does not fit, with exit codes", "[formats][cli]") {
  Host h;
  struct Case {
    std::string args, message;
    int code;
  };
  const std::vector<Case> cases = {
      {"export --format virsh", "--format: unknown export format 'virsh'; valid formats:", 2},
      {"export", "--format is required: give one of libvirt-nodedev,", 2},
      {"export --format placement --dra-generation 2",
       "--dra-generation belongs to --format dra, not placement", 2},
      {"export --format dra --dra-generation 0", "give a number higher than the last", 2},
      {"export --format placement --uuid 3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01",
       "--uuid belongs to --format libvirt-hostdev and mdevctl, not placement", 2},
      {"export --format dra --type A16-2Q", "--type belongs to --format placement, not dra", 2},
      {"export --format libvirt-hostdev --hostdev-form usb",
       "--hostdev-form must be auto, mdev or pci", 2},
      {"export --format libvirt-hostdev --uuid 3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01",
       "no vGPU 3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01 on this host", 1},
      {"export --format libvirt-nodedev --gpu 0000:99:00.0", "no GPU 0000:99:00.0 on this host", 1},
      {"export --format dra --node Bad_Name", "give the node's name with --node NAME", 2},
      {"export --format mdevctl --output /nonexistent/dir/x.json", "--output: cannot create", 3},
      {"apply --format nvidia-vgpu-config /nonexistent.yaml",
       "cannot open vgpu-device-manager config /nonexistent.yaml", 2},
      {"apply --format xml x",
       "apply reads host-state (vgpu's JSON, the default) or "
       "nvidia-vgpu-config",
       2},
      {"apply --config x host.json", "use it with --format nvidia-vgpu-config", 2},
  };
  for (const auto& c : cases) {
    auto r = h.ctl(c.args);
    INFO("vgpuctl " << c.args << "\nstderr: " << r.err);
    CHECK(r.code == c.code);
    CHECK_THAT(r.err, Catch::Contains(c.message));
    CHECK(r.out.empty());
  }
  const std::string bad = h.dir
                              .write("bad.yaml",
                                     "version: v1\nvgpu-configs:\n  default:\n"
                                     "    - devices: [7]\n      vgpu-devices: {}\n")
                              .string();
  auto r = h.ctl("apply --format nvidia-vgpu-config " + bad);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains(bad + ":4:17: vgpu-configs.default[0].devices: no GPU with "
                                          "index 7: this host has 3 GPUs"));
}
