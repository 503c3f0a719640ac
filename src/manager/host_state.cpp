// Host state files for `vgpuctl apply`. See include/vgpu/host_state.hpp.
#include "vgpu/host_state.hpp"

#include <nlohmann/json.hpp>

#include "common/json_reader.hpp"
#include "common/read_file.hpp"

namespace vgpu {
namespace {

using json_reader::json;
using json_reader::ObjectReader;

constexpr std::uint64_t max_count = 4096;

Result<DesiredVgpus> read_entry(const json& value, const std::string& path,
                                std::string_view origin) {
  VGPU_TRY(r, ObjectReader::open(
                  value, path, origin,
                  {"type", "count", "gpu", "model", "uuid", "placement", "owner", "vm_uuid"}));
  DesiredVgpus d;
  VGPU_TRY(type, r.string("type"));
  if (type.empty()) return r.error("type", "must name a vGPU type, e.g. \"A16-2Q\"");
  d.type = type;
  VGPU_TRY(count, r.optional_uint("count", max_count));
  if (count && *count == 0) return r.error("count", "must be at least 1");
  d.count = static_cast<std::uint32_t>(count.value_or(1));
  VGPU_TRY(gpu, r.optional_string("gpu"));
  if (gpu) {
    auto a = PciAddress::parse(*gpu);
    if (!a) return r.error("gpu", a.error().message());
    d.gpu = *a;
  }
  VGPU_TRY(model, r.optional_string("model"));
  d.model = model.value_or("");
  if (d.gpu && !d.model.empty())
    return r.error("model", "give a GPU or a model, not both (the GPU's model is known)");
  VGPU_TRY(uuid, r.optional_string("uuid"));
  if (uuid) {
    auto u = Uuid::parse(*uuid);
    if (!u) return r.error("uuid", u.error().message());
    if (u->is_nil()) return r.error("uuid", "the nil UUID names no vGPU");
    if (count && *count != 1) return r.error("count", "an entry with a uuid names one vGPU");
    d.uuid = *u;
  }
  VGPU_TRY(placement, r.optional_uint("placement", 127));
  if (placement) {
    if (d.count != 1) return r.error("placement", "only for one vGPU (count 1 or a uuid)");
    d.placement = static_cast<std::uint32_t>(*placement);
  }
  VGPU_TRY(owner, r.optional_string("owner"));
  d.owner = owner.value_or("");
  VGPU_TRY(vm, r.optional_string("vm_uuid"));
  if (vm) {
    auto u = Uuid::parse(*vm);
    if (!u) return r.error("vm_uuid", u.error().message());
    d.vm_uuid = *u;
  }
  return d;
}

}  // namespace

Result<HostState> parse_host_state(std::string_view text, std::string_view origin) {
  VGPU_TRY(doc, json_reader::parse(text, origin));
  VGPU_TRY(r, ObjectReader::open(doc, "", origin, {"vgpus"}));
  VGPU_TRY(list, r.array("vgpus", true));
  HostState state;
  std::vector<Uuid> seen;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string at = "vgpus[" + std::to_string(i) + "]";
    VGPU_TRY(entry, read_entry((*list)[i], at, origin));
    if (entry.uuid) {
      for (const auto& u : seen)
        if (u == *entry.uuid)
          return json_reader::error_at(origin, at + ".uuid",
                                       "vGPU " + u.to_string() + " is listed twice");
      seen.push_back(*entry.uuid);
    }
    state.vgpus.push_back(std::move(entry));
  }
  return state;
}

Result<HostState> load_host_state(const std::filesystem::path& path) {
  VGPU_TRY(text, files::read_text(path, "host state"));
  return parse_host_state(text, path.string());
}

}  // namespace vgpu
