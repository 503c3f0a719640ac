// NVIDIA vgpu-device-manager configs: export of the current state, import into a HostState that
// Manager::apply() makes true again, and a table of bad inputs with the errors they give.
#include <map>

#include "support.hpp"

namespace {

using namespace formats_test;

// vGPUs per GPU and type, as "0000:41:00.0 A16-4Q" -> count.
std::map<std::string, int> census(vgpu::Manager& m) {
  std::map<std::string, int> out;
  for (const auto& v : m.instances().value())
    ++out[v.gpu.to_string() + " " + v.type_name];
  return out;
}

vgpu::Result<vgpu::HostState> parse(vgpu::Manager& m, const std::string& text,
                                    const std::string& config = {}) {
  return vgpu::formats::parse_nvidia_vgpu_config(text, "cfg.yaml", m.gpus(), m.catalog(), config);
}

}  // namespace

TEST_CASE("nvidia-vgpu-config: export describes each GPU, import and apply restore it",
          "[formats][vgpu-config]") {
  auto m = open_manager();
  create(*m, "A16-4Q", 2, "0000:41:00.0");
  create(*m, "A16-4Q", 2, "0000:42:00.0");
  create(*m, "L40S-12Q", 1, "0000:45:00.0");
  create(*m, "A100D-3-40C", 2, "0000:c1:00.0");
  const std::string yaml = exported(inventory_of(*m), Format::nvidia_vgpu_config);
  CHECK(yaml ==
        "version: v1\n"
        "vgpu-configs:\n"
        "  default:\n"
        "  - devices: [0, 1]\n    vgpu-devices:\n      A16-4Q: 2\n"
        "  - devices: [2, 3, 5]\n    vgpu-devices: {}\n"
        "  - devices: [4]\n    vgpu-devices:\n      L40S-12Q: 1\n"
        "  - devices: [6]\n    vgpu-devices:\n      A100D-3-40C: 2\n");
  ScratchDir dir;
  const auto file = dir.write("cfg.yaml", yaml);
  auto py =
      vgpu::test::shell(std::string(VGPU_PYTHON3) +
                        " -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); "
                        "assert d[\"vgpu-configs\"][\"default\"][0][\"devices\"] == [0, 1]' " +
                        file.string());
  INFO(py.out);
  CHECK(py.code == 0);

  auto fresh = open_manager();
  auto state = vgpu::formats::load_nvidia_vgpu_config(file, fresh->gpus(), fresh->catalog());
  REQUIRE(state);
  REQUIRE(state->vgpus.size() == 3 + 1);  // two A16 entries, L40S, A100
  CHECK(state->vgpus[0].type == "A16-4Q");
  CHECK(state->vgpus[0].count == 2);
  CHECK(state->vgpus[0].gpu->to_string() == "0000:41:00.0");
  REQUIRE(fresh->apply(*state));
  CHECK(census(*fresh) == census(*m));
  // Applying again changes nothing; the export of the copy is the same text.
  auto again = fresh->apply(*state);
  REQUIRE(again);
  CHECK(again->created.empty());
  CHECK(exported(inventory_of(*fresh), Format::nvidia_vgpu_config) == yaml);

  vgpu::formats::ExportOptions o;
  o.gpu = *vgpu::PciAddress::parse("0000:45:00.0");
  o.config_name = "l40s";
  CHECK(exported(inventory_of(*m), Format::nvidia_vgpu_config, o) ==
        "version: v1\nvgpu-configs:\n  l40s:\n  - devices: [4]\n    vgpu-devices:\n"
        "      L40S-12Q: 1\n");
}

TEST_CASE("nvidia-vgpu-config: import picks the config, filters GPUs by device id",
          "[formats][vgpu-config]") {
  auto m = open_manager();
  const std::string text = R"(version: v1
vgpu-configs:
  small:
    - devices: all
      device-filter: ["0x25B610DE"]
      vgpu-devices: {"nvidia a16-2q": 8}
    - devices: [4, 5]
      vgpu-devices:
        L40S-4Q: 3
        L40S-8Q: 1
    - devices: [6]
      vgpu-devices:
)";
  auto state = parse(*m, text);  // the only config
  REQUIRE(state);
  REQUIRE(state->vgpus.size() == 4 + 4);
  CHECK(state->vgpus[0].type == "A16-2Q");
  CHECK(state->vgpus[3].gpu->to_string() == "0000:44:00.0");
  CHECK(state->vgpus[5].type == "L40S-8Q");
  REQUIRE(m->apply(*state));
  CHECK(m->instances()->size() == 4 * 8 + 2 * 4);
  CHECK(parse(*m, text, "small"));
}

TEST_CASE("nvidia-vgpu-config: bad input is refused with file, line and what to do",
          "[formats][vgpu-config]") {
  auto m = open_manager();
  struct Case {
    std::string text, config, message;
  };
  const std::string head = "version: v1\nvgpu-configs:\n  default:\n";
  const std::vector<Case> cases = {
      {"", "", "cfg.yaml: the file is empty; write a vgpu-device-manager config"},
      {"version: v1\nvgpu-configs: [\n", "", "cfg.yaml:3:1: not valid YAML:"},
      {"\x01\x02\xff", "", "cfg.yaml"},
      {"- a\n- b\n", "", "cfg.yaml:1:1: expected a vgpu-device-manager config"},
      {"vgpu-configs: {x: [{devices: all, vgpu-devices: {}}]}\n", "", "missing version"},
      {"version: v2\nvgpu-configs: {}\n", "",
       "cfg.yaml:1:10: version: unknown version 'v2'; vgpu reads version v1"},
      {"version: v1\n", "", "missing vgpu-configs"},
      {"version: v1\nvgpu-config: {}\n", "",
       "cfg.yaml:2:1: unknown key 'vgpu-config'; valid keys here: version, vgpu-configs"},
      {"version: v1\nversion: v1\nvgpu-configs: {}\n", "",
       "cfg.yaml:2:1: key 'version' appears twice"},
      {"version: v1\nvgpu-configs: {}\n", "", "vgpu-configs: no config in it"},
      {"version: v1\nvgpu-configs:\n  default: {devices: all}\n", "",
       "vgpu-configs.default: expected a list of at least one entry"},
      {head + "    - devices: [0]\n      vgpu-devices: {A16-2Q: 99}\n", "",
       "cfg.yaml:5:30: vgpu-configs.default[0].vgpu-devices.A16-2Q: GPU 0 (0000:41:00.0, NVIDIA "
       "A16) "
       "holds at most 8 A16-2Q, not 99; lower the count"},
      {"version: v1\nvgpu-configs:\n  default: []\n", "",
       "cfg.yaml:3:12: vgpu-configs.default: expected a list of at least one entry (- devices: "
       "..., vgpu-devices: ...), got an empty list"},
      {head + "    - device: all\n      vgpu-devices: {}\n", "",
       "cfg.yaml:4:7: vgpu-configs.default[0]: unknown key 'device'; valid keys here: devices, "
       "device-filter, vgpu-devices"},
      {head + "    - vgpu-devices: {}\n", "", "vgpu-configs.default[0]: missing devices"},
      {head + "    - devices: all\n", "", "missing vgpu-devices"},
      {head + "    - devices: some\n      vgpu-devices: {}\n", "",
       "cfg.yaml:4:16: vgpu-configs.default[0].devices: expected \"all\" or a list of GPU indices"},
      {head + "    - devices: [0, x]\n      vgpu-devices: {}\n", "",
       "vgpu-configs.default[0].devices[1]: expected a whole number, got 'x'"},
      {head + "    - devices: [-1]\n      vgpu-devices: {}\n", "", "expected a whole number"},
      {head + "    - devices: [99]\n      vgpu-devices: {}\n", "",
       "cfg.yaml:4:17: vgpu-configs.default[0].devices: no GPU with index 99: this host has 7 "
       "GPUs (indices 0 to 6"},
      {head + "    - devices: [0]\n      vgpu-devices: {A16-2Q: 1}\n    - devices: all\n"
              "      vgpu-devices: {}\n",
       "", "GPU 0 (0000:41:00.0, NVIDIA A16) is already configured by vgpu-configs.default[0]"},
      {head + "    - devices: [1, 1]\n      vgpu-devices: {}\n", "",
       "cfg.yaml:4:20: vgpu-configs.default[0].devices: GPU 1 (0000:42:00.0, NVIDIA A16) is "
       "listed twice; list it once"},
      {head + "    - devices: all\n      vgpu-devices: {A16-3Q: 1}\n", "",
       "vgpu-configs.default[0].vgpu-devices.A16-3Q: unknown vGPU type 'A16-3Q'"},
      {head + "    - devices: [0]\n      vgpu-devices: {A16-2Q: 0}\n", "",
       "the count must be at least 1; leave the type out instead"},
      {head + "    - devices: [0]\n      vgpu-devices: {A16-2Q: \"4\"}\n", "",
       "expected a whole number, got the text '4'"},
      {head + "    - devices: [0]\n      vgpu-devices: {A16-2Q: 4.5}\n", "",
       "expected a whole number"},
      {head + "    - devices: [0]\n      vgpu-devices: {A16-2Q: 99999999999}\n", "",
       "expected a whole number"},
      {head + "    - devices: [0]\n      vgpu-devices: {A16-2Q: [1]}\n", "",
       "expected a whole number, got a list"},
      {head + "    - devices: [4]\n      vgpu-devices: {A16-2Q: 1}\n", "",
       "GPU 4 (0000:45:00.0, NVIDIA L40S) has no A16-2Q (a NVIDIA A16 type)"},
      {head + "    - devices: [6]\n      vgpu-devices: {A100D-3-40C: 1, A100D-40C: 1}\n", "",
       "cannot mix time-sliced and MIG-backed vGPU types on one GPU"},
      {head + "    - devices: all\n      device-filter: \"0x25B610DE:0x14A910DE\"\n"
              "      vgpu-devices: {}\n",
       "", "subsystem ids ('0x25B610DE:0x14A910DE') are not supported"},
      {head + "    - devices: all\n      device-filter: A16\n      vgpu-devices: {}\n", "",
       "expected a PCI device and vendor id as 0x followed by 8 hex digits"},
      {head + "    - devices: all\n      vgpu-devices: {A16-2Q: 1, A16-2Q: 2}\n", "",
       "key 'A16-2Q' appears twice"},
      {head + "    - devices: all\n      vgpu-devices: {}\n  other:\n    - devices: all\n"
              "      vgpu-devices: {}\n",
       "third", "no config 'third'; the file has default, other"},
      {"version: v1\nvgpu-configs:\n  a: [{devices: all, vgpu-devices: {}}]\n"
       "  b: [{devices: all, vgpu-devices: {}}]\n",
       "", "several configs (a, b) and none is called \"default\"; choose one with --config NAME"},
      {head + "    - devices: all\n      vgpu-devices: {}\n---\nversion: v1\n", "",
       "expected one YAML document, found more"},
      // yaml-cpp 0.7 reads this as endless empty documents; LoadAll() never returned on it
      // (a fuzzing finding, tests/fuzz/regressions/nvidia_vgpu_config).
      {", version: v1\n", "", "expected one YAML document, found more"},
      // A config name with control bytes, printed escaped (a fuzzing finding).
      {"version: v1\nvgpu-configs:\n  \"a\\x7f\\rb\": 1\n", "",
       "vgpu-configs.a\\x7f\\x0db: expected a list"},
      {head + "    - {[1]: all, vgpu-devices: {}}\n", "", "a key must be text, got a list"},
      {std::string(5000, '[') + std::string(5000, ']'), "", "cfg.yaml"},
  };
  for (const auto& c : cases) {
    INFO("input:\n" << c.text << "\nconfig: " << c.config);
    auto r = parse(*m, c.text, c.config);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == vgpu::Errc::invalid_argument);
    CHECK_THAT(r.error().message(), Catch::Contains(c.message));
  }
  auto missing =
      vgpu::formats::load_nvidia_vgpu_config("/nonexistent/cfg.yaml", m->gpus(), m->catalog());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == vgpu::Errc::not_found);
  CHECK_THAT(missing.error().message(), Catch::Contains("/nonexistent/cfg.yaml"));
}
