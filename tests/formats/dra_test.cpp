// Kubernetes DRA ResourceSlices: every slice against Kubernetes' OpenAPI schema
// (k8s/validate.mjs) and the stricter hand-written one (schemas/resource-slice-v1.schema.json),
// the API's rules between objects, and the counter
// model itself: a scheduler that allocates devices by their counters (and compatibility
// groups) never picks a set of vGPUs the GPU cannot hold, and, where no slot runs were merged,
// can pick every set the GPU can hold.
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "support.hpp"

namespace {

using namespace formats_test;

// "16384Mi" -> 16384, "1" -> 1 (the only forms the export writes).
long long quantity(const std::string& q) {
  std::size_t used = 0;
  const long long n = std::stoll(q, &used);
  const std::string unit = q.substr(used);
  REQUIRE((unit.empty() || unit == "Mi"));
  return n;
}

// The slices' rules that span objects (k8s.io/api/resource/v1 validation).
void check_rules(const json& list) {
  const auto& items = list.at("items");
  REQUIRE(!items.empty());
  const auto& first = items[0]["spec"];
  std::set<std::string> slice_names, set_names, device_names;
  std::map<std::string, std::map<std::string, long long>> sets;
  for (const auto& s : items) {
    const auto& spec = s["spec"];
    CHECK(spec["driver"] == first["driver"]);
    CHECK(spec["nodeName"] == first["nodeName"]);
    CHECK(spec["pool"] == first["pool"]);
    CHECK(spec["pool"]["resourceSliceCount"] == items.size());
    CHECK(slice_names.insert(s["metadata"]["name"].get<std::string>()).second);
    CHECK(spec.value("sharedCounters", json::array()).size() <= 8);
    CHECK(spec.value("devices", json::array()).size() <= 64);
    CHECK((spec.contains("devices") != spec.contains("sharedCounters")));
    for (const auto& cs : spec.value("sharedCounters", json::array())) {
      CHECK(cs["counters"].size() <= 32);
      CHECK(set_names.insert(cs["name"].get<std::string>()).second);
      for (const auto& [name, c] : cs["counters"].items())
        sets[cs["name"]][name] = quantity(c["value"]);
    }
  }
  for (const auto& s : items) {
    std::size_t consumed = 0;
    for (const auto& d : s["spec"].value("devices", json::array())) {
      INFO("device " << d["name"]);
      CHECK(device_names.insert(d["name"].get<std::string>()).second);
      CHECK(d["attributes"].size() + d["capacity"].size() <= 32);
      std::set<std::string> used_sets;
      CHECK(d["consumesCounters"].size() <= 2);
      for (const auto& c : d["consumesCounters"]) {
        CHECK(c["counters"].size() <= 32);
        const std::string set = c["counterSet"];
        CHECK(used_sets.insert(set).second);
        REQUIRE(sets.count(set) == 1);
        for (const auto& [name, v] : c["counters"].items()) {
          REQUIRE(sets[set].count(name) == 1);
          CHECK(quantity(v["value"]) <= sets[set][name]);
          ++consumed;
        }
      }
    }
    CHECK(consumed <= 1024);
  }
}

// One device as a scheduler sees it: what it consumes, by counter number.
struct Device {
  std::string name;
  const vgpu::VgpuType* type = nullptr;
  std::uint32_t placement = 0;
  std::vector<std::pair<std::size_t, long long>> consumes;  // counter -> amount
  std::map<std::size_t, std::set<std::string>> groups;      // counter set -> its groups
};

// A scheduler's view of a pool's counters: what is left of each, and the compatibility groups
// the devices allocated from each set have in common (absent: nothing allocated from it).
struct Allocator {
  std::vector<long long> left;
  std::map<std::size_t, std::set<std::string>> common;

  // Allocates @p d when its counters and groups allow; false (and no change) otherwise.
  bool allocate(const Device& d) {
    for (const auto& [counter, amount] : d.consumes)
      if (left[counter] < amount) return false;
    for (const auto& [set, mine] : d.groups) {
      auto it = common.find(set);
      if (it == common.end()) continue;
      if (mine.empty() != it->second.empty()) return false;
      if (!mine.empty() && intersection(mine, it->second).empty()) return false;
    }
    for (const auto& [counter, amount] : d.consumes)
      left[counter] -= amount;
    for (const auto& [set, mine] : d.groups) {
      auto [it, fresh] = common.emplace(set, mine);
      if (!fresh) it->second = intersection(mine, it->second);
    }
    return true;
  }

  static std::set<std::string> intersection(const std::set<std::string>& a,
                                            const std::set<std::string>& b) {
    std::set<std::string> both;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::inserter(both, both.end()));
    return both;
  }
};

// Random allocations on every GPU: the counters never allow what the GPU refuses, and (where
// no slot runs were merged) never refuse what it allows. Returns the GPUs whose runs were
// merged.
std::vector<const vgpu::formats::GpuInventory*> check_counter_model(
    const vgpu::formats::Inventory& inv, const json& list) {
  std::vector<const vgpu::formats::GpuInventory*> inexact;
  std::map<std::string, std::size_t> set_number, counter_number;  // "set/counter" -> number
  Allocator empty;
  std::map<std::string, std::vector<std::pair<std::uint32_t, std::uint32_t>>>
      runs;  // set -> [a, b]
  std::map<std::string, std::vector<Device>> by_gpu;
  for (const auto& s : list["items"])
    for (const auto& cs : s["spec"].value("sharedCounters", json::array())) {
      set_number.emplace(cs["name"], set_number.size());
      for (const auto& [name, c] : cs["counters"].items()) {
        counter_number[cs["name"].get<std::string>() + "/" + name] = empty.left.size();
        empty.left.push_back(quantity(c["value"]));
        std::uint32_t a = 0, b = 0;
        if (std::sscanf(name.c_str(), "slots-%u-%u", &a, &b) == 2)
          runs[cs["name"]].push_back({a, b});
      }
    }
  for (const auto& s : list["items"])
    for (const auto& d : s["spec"].value("devices", json::array())) {
      const std::string gpu = d["attributes"]["gpu"]["string"];
      Device dev{d["name"], nullptr, d["attributes"]["placement"]["int"], {}, {}};
      for (const auto& g : inv.gpus)
        if (g.gpu().address.to_string() == gpu)
          dev.type = g.gpu().model->find_type(d["attributes"]["type"]["string"].get<std::string>());
      REQUIRE(dev.type != nullptr);
      for (const auto& c : d["consumesCounters"]) {
        const std::string set = c["counterSet"];
        for (const auto& [name, v] : c["counters"].items())
          dev.consumes.emplace_back(counter_number.at(set + "/" + name), quantity(v["value"]));
        const auto groups = c.value("compatibilityGroups", std::vector<std::string>{});
        dev.groups[set_number.at(set)] = {groups.begin(), groups.end()};
      }
      by_gpu[gpu].push_back(std::move(dev));
    }
  std::mt19937 random(20261125);
  for (const auto& g : inv.gpus) {
    const std::string address = g.gpu().address.to_string();
    auto& devices = by_gpu[address];
    std::string label = "gpu-" + address;
    std::replace(label.begin(), label.end(), ':', '-');
    std::replace(label.begin(), label.end(), '.', '-');
    // A run of slots that some device covers only in part was merged to fit the limits.
    bool exact = true;
    for (const auto& set : {label, label + "-2"})
      for (const auto& [a, b] : runs[set])
        for (const auto& d : devices) {
          const std::uint32_t end = d.placement + d.type->placement_size;  // [placement, end)
          const bool touches = d.placement <= b && a < end;
          const bool covers = d.placement <= a && b < end;
          exact = exact && (!touches || covers);
        }
    if (!exact) inexact.push_back(&g);
    for (const auto& d : devices) {
      INFO(address << " " << d.name);
      CHECK(g.occupancy.can_create_at(*d.type, d.placement));
    }
    for (int round = 0; round < 12; ++round) {
      std::shuffle(devices.begin(), devices.end(), random);
      vgpu::GpuOccupancy gpu = g.occupancy;
      Allocator counters = empty;
      for (const auto& d : devices) {
        const bool hardware = gpu.can_create_at(*d.type, d.placement);
        const bool scheduler = counters.allocate(d);
        if (scheduler == hardware || (!exact && !scheduler)) {
          if (scheduler) REQUIRE(gpu.add(vgpu::Uuid::generate(), *d.type, d.placement));
          continue;
        }
        FAIL(address << " round " << round << ": " << d.name << ": the GPU "
                     << (hardware ? "takes" : "refuses") << " it, the counters "
                     << (scheduler ? "allow" : "refuse") << " it");
      }
    }
  }
  return inexact;
}

// Exports @p inv as a YAML stream and a JSON List, checks that they hold the same slices and
// that these match the schema, and returns the List.
json export_and_validate(const vgpu::formats::Inventory& inv, ExportOptions o) {
  ScratchDir dir;
  o.dra_json = false;
  const auto yaml = dir.write("slices.yaml", exported(inv, Format::dra, o));
  o.dra_json = true;
  const std::string text = exported(inv, Format::dra, o);
  const auto file = dir.write("slices.json", text);
  vgpu::test::require_schema_valid("resource-slice-v1.schema.json", {yaml, file}, true);
  require_k8s_openapi_valid({file});
  return json::parse(text);
}

}  // namespace

TEST_CASE("dra: ResourceSlices of the built-in host are valid and model the GPUs exactly",
          "[formats][dra]") {
  auto m = open_manager();
  create(*m, "A16-4Q", 2, "0000:41:00.0");
  create(*m, "L40S-12Q", 1, "0000:45:00.0");
  create(*m, "A100D-1-10CME", 1, "0000:c1:00.0");
  auto inv = inventory_of(*m);
  ExportOptions o;
  o.dra_compatibility_groups = true;
  const json list = export_and_validate(inv, o);
  CHECK(list["kind"] == "List");
  check_rules(list);
  CHECK(check_counter_model(inv, list).empty());

  const auto& items = list["items"];
  const auto& counters = items[0]["spec"]["sharedCounters"];
  CHECK(counters[0]["name"] == "gpu-0000-41-00-0");
  CHECK(counters[0]["counters"]["memory"]["value"] == "16384Mi");
  // The L40S (48 slots in mixed-size mode) needs a second counter set.
  CHECK(counters[5]["name"] == "gpu-0000-45-00-0-2");
  // 41 holds two A16-4Q: only 4 GiB types at the free slots 8 and 12 are offered.
  std::set<std::string> on_41;
  for (const auto& s : items)
    for (const auto& d : s["spec"].value("devices", json::array()))
      if (d["attributes"]["gpu"]["string"] == "0000:41:00.0") on_41.insert(d["name"]);
  CHECK(on_41 == std::set<std::string>{"gpu-0000-41-00-0-a16-4q-p8", "gpu-0000-41-00-0-a16-4q-p12",
                                       "gpu-0000-41-00-0-a16-4a-p8",
                                       "gpu-0000-41-00-0-a16-4a-p12"});
  // One +me GPU instance per A100, and it is taken: no 1g.10gb+me device is left.
  const std::string text = list.dump();
  CHECK(text.find("a100d-1-10cme-p") == std::string::npos);
  CHECK(text.find("\"fb-4096mi\"") != std::string::npos);
}

// Every model and mode, through the same rule checks (which include the limits the schema
// checks); the schema itself runs on the test above, whose host has every mode.
TEST_CASE("dra: every catalog model in every mode stays within the API's limits",
          "[formats][dra]") {
  json host = {{"gpus", json::array()}};
  for (const auto& model : vgpu::builtin_catalog().models()) {
    host["gpus"].push_back({{"model", model->name}});
    if (model->mixed_size_capable)
      host["gpus"].push_back({{"model", model->name}, {"mode", "mixed"}});
    if (model->mig_capable) host["gpus"].push_back({{"model", model->name}, {"mode", "mig"}});
  }
  auto m = open_manager(host.dump());
  auto inv = inventory_of(*m);
  ExportOptions o;
  o.dra_compatibility_groups = true;
  o.dra_json = true;
  const json list = json::parse(exported(inv, Format::dra, o));
  check_rules(list);
  // Only boards of 80 GiB and more have more slot runs than two counter sets hold.
  for (const auto* g : check_counter_model(inv, list)) {
    INFO(g->gpu().model->name << " in " << vgpu::describe(g->gpu().mode) << " mode");
    CHECK(g->gpu().model->slots() >= 80);
  }
}

TEST_CASE("dra: names Kubernetes would refuse are errors that say what to give", "[formats][dra]") {
  auto m = open_manager();
  auto inv = inventory_of(*m);
  inv.node = "Node_1";
  auto r = vgpu::formats::export_inventory(inv, Format::dra);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == vgpu::Errc::invalid_argument);
  CHECK_THAT(r.error().message(), Catch::Contains("give the node's name with --node NAME"));
  inv.node = "node-1";
  ExportOptions o;
  o.dra_driver = "vGPU driver";
  r = vgpu::formats::export_inventory(inv, Format::dra, o);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("--dra-driver vgpu.example.com"));
  // Upper case in a host name is folded, as the kubelet does.
  inv.node = "GPU-Host.example.com";
  auto ok = vgpu::formats::export_inventory(inv, Format::dra);
  REQUIRE(ok);
  CHECK_THAT(*ok, Catch::Contains("nodeName: gpu-host.example.com"));
}

TEST_CASE("dra: every slice carries the pool generation the publisher gives", "[formats][dra]") {
  auto m = open_manager();
  auto inv = inventory_of(*m);
  inv.node = "node-1";
  ExportOptions o;
  o.dra_json = true;
  auto first = vgpu::formats::export_inventory(inv, Format::dra, o);
  REQUIRE(first);
  o.dra_generation = 1796630000;  // a later publication: the time in seconds
  auto later = vgpu::formats::export_inventory(inv, Format::dra, o);
  REQUIRE(later);
  const auto items = json::parse(*later)["items"];
  REQUIRE(items.size() > 1);
  for (std::size_t i = 0; i < items.size(); ++i) {
    CHECK(json::parse(*first)["items"][i]["spec"]["pool"]["generation"] == 1);
    CHECK(items[i]["spec"]["pool"]["generation"] == 1796630000);
    CHECK(items[i]["spec"]["pool"]["resourceSliceCount"] == items.size());
  }
  for (const std::uint64_t bad : {std::uint64_t{0}, std::uint64_t{1} << 63}) {
    o.dra_generation = bad;
    auto r = vgpu::formats::export_inventory(inv, Format::dra, o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == vgpu::Errc::invalid_argument);
    CHECK_THAT(r.error().message(), Catch::Contains("--dra-generation"));
  }
}
