// Host state files for `vgpuctl apply` (docs/ledger.md): parse_host_state() on arbitrary
// text. Invariants: errors follow the rules; a state that parses keeps the documented rules
// (count at least 1, a uuid means one vGPU, a placement only for one vGPU, a GPU or a model,
// no uuid twice), and written back as JSON it parses to the same entries.
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.hpp"
#include "vgpu/host_state.hpp"

namespace {

nlohmann::json to_json(const vgpu::HostState& state) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& d : state.vgpus) {
    nlohmann::json j = {{"type", d.type}, {"count", d.count}};
    if (d.gpu) j["gpu"] = d.gpu->to_string();
    if (!d.model.empty()) j["model"] = d.model;
    if (d.uuid) j["uuid"] = d.uuid->to_string();
    if (d.placement) j["placement"] = *d.placement;
    if (!d.owner.empty()) j["owner"] = d.owner;
    if (d.vm_uuid) j["vm_uuid"] = d.vm_uuid->to_string();
    list.push_back(std::move(j));
  }
  return {{"vgpus", list}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vgpu;
  auto state = parse_host_state(fuzz::text(data, size), "fuzz.json");
  if (!state) {
    FUZZ_CHECK_ERROR(state.error());
    return 0;
  }
  for (std::size_t i = 0; i < state->vgpus.size(); ++i) {
    const DesiredVgpus& d = state->vgpus[i];
    FUZZ_CHECK(!d.type.empty(), "an entry without a type parsed");
    FUZZ_CHECK(d.count >= 1 && d.count <= 4096, "count out of range");
    FUZZ_CHECK(!d.uuid || (d.count == 1 && !d.uuid->is_nil()), "a uuid entry for several vGPUs");
    FUZZ_CHECK(!d.placement || d.count == 1, "a placement for several vGPUs");
    FUZZ_CHECK(!(d.gpu && !d.model.empty()), "both a GPU and a model");
    for (std::size_t j = 0; j < i; ++j)
      FUZZ_CHECK(!d.uuid || state->vgpus[j].uuid != d.uuid, "one uuid listed twice");
  }
  // Owners are free text: bytes that are not UTF-8 cannot have come from parsed JSON.
  const std::string text = to_json(*state).dump();
  auto again = parse_host_state(text, "roundtrip.json");
  FUZZ_CHECK(again.has_value(),
             "written back, the state does not parse: " + again.error().message() + "\n" + text);
  FUZZ_CHECK(again->vgpus.size() == state->vgpus.size(), "round trip changed the entry count");
  for (std::size_t i = 0; i < state->vgpus.size(); ++i)
    FUZZ_CHECK(state->vgpus[i] == again->vgpus[i],
               "round trip changed vgpus[" + std::to_string(i) + "]: " + text);
  return 0;
}
