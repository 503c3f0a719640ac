// NVIDIA vgpu-device-manager configs (YAML) for `vgpuctl apply --format nvidia-vgpu-config`:
// parse_nvidia_vgpu_config() on arbitrary text, against the built-in simulated host (16 GPUs
// of five models). Invariants: errors follow the rules (docs/error-handling.md) and cite a
// position; a config that parses gives a host state apply() can act on: every entry names one
// of the host's GPUs and a type of that GPU's model, a count of at least 1 and nothing the
// vgpu-device-manager format cannot say (uuid, placement, owner); a GPU is claimed by one
// config entry only, so all of its entries come together; and parsing is deterministic.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "vgpu/catalog_io.hpp"
#include "vgpu/formats.hpp"
#include "vgpu/host.hpp"

namespace {

const vgpu::HostDescription& host() {
  static const vgpu::HostDescription h = [] {
    auto d = vgpu::default_host(vgpu::builtin_catalog());
    if (!d) std::abort();
    return std::move(*d);
  }();
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vgpu;
  const std::string_view text = fuzz::text(data, size);
  const TypeCatalog& catalog = builtin_catalog();
  auto state = formats::parse_nvidia_vgpu_config(text, "fuzz.yaml", host().gpus, catalog);
  if (!state) {
    FUZZ_CHECK_ERROR(state.error());
    FUZZ_CHECK(state.error().code() == Errc::invalid_argument,
               "unexpected error code: " + state.error().message());
    FUZZ_CHECK(state.error().message().rfind("fuzz.yaml", 0) == 0,
               "the error does not start with the file's name: " + state.error().message());
    return 0;
  }
  std::vector<PciAddress> finished;  // GPUs whose run of entries has ended
  for (std::size_t i = 0; i < state->vgpus.size(); ++i) {
    const DesiredVgpus& d = state->vgpus[i];
    const std::string where = "vgpus[" + std::to_string(i) + "] (" + d.type + "): ";
    FUZZ_CHECK(d.gpu.has_value(), where + "no GPU");
    const PhysicalGpu* gpu = nullptr;
    for (const auto& g : host().gpus)
      if (g.address == *d.gpu) gpu = &g;
    FUZZ_CHECK(gpu != nullptr, where + "a GPU the host lacks");
    auto type = catalog.find_type(d.type);
    FUZZ_CHECK(type.has_value(), where + "a type the catalog lacks");
    FUZZ_CHECK(type->model->name == gpu->model->name,
               where + "a " + type->model->name + " type on a " + gpu->model->name);
    FUZZ_CHECK(d.count >= 1, where + "count 0");
    FUZZ_CHECK(!d.uuid && !d.placement && d.owner.empty() && !d.vm_uuid,
               where + "a field the format cannot express");
    for (const auto& f : finished)
      FUZZ_CHECK(f != *d.gpu, where + "a GPU two entries claim");
    if (i + 1 < state->vgpus.size() && state->vgpus[i + 1].gpu != d.gpu) finished.push_back(*d.gpu);
  }
  auto again = formats::parse_nvidia_vgpu_config(text, "fuzz.yaml", host().gpus, catalog);
  FUZZ_CHECK(again.has_value() && again->vgpus.size() == state->vgpus.size(),
             "a second parse of the same text differs");
  for (std::size_t i = 0; i < state->vgpus.size(); ++i)
    FUZZ_CHECK(state->vgpus[i] == again->vgpus[i], "a second parse of the same text differs");
  return 0;
}
