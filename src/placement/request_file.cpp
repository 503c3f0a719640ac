// Placement requests as JSON. See include/vgpu/placement/request_file.hpp and docs/policies.md.
#include "vgpu/placement/request_file.hpp"

#include <nlohmann/json.hpp>
#include <string>

#include "common/json_reader.hpp"
#include "common/read_file.hpp"

namespace vgpu {
namespace {

using json_reader::json;
using json_reader::ObjectReader;

// Upper bound on "count": far above any host, low enough to catch typos like 1000000.
constexpr std::uint64_t max_count = 4096;

Result<std::vector<GpuIndex>> read_gpus(const ObjectReader& r, std::string_view key,
                                        const PlacementEngine& engine) {
  std::vector<GpuIndex> out;
  VGPU_TRY(list, r.array(key, false));
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string at = r.path(key) + "[" + std::to_string(i) + "]";
    VGPU_TRY(text, r.string_value((*list)[i], at));
    auto a = PciAddress::parse(text);
    if (!a) return json_reader::error_at(r.origin(), at, a.error().message());
    auto g = engine.find_gpu(*a);
    if (!g)
      return json_reader::error_at(r.origin(), at,
                                   "no GPU " + a->to_string() + " on this host (`vgpuctl gpus`)",
                                   Errc::not_found);
    out.push_back(*g);
  }
  return out;
}

Result<Request> read_request(const json& value, const std::string& path, std::string_view origin,
                             const TypeCatalog& catalog, const PlacementEngine& engine) {
  VGPU_TRY(r,
           ObjectReader::open(value, path, origin,
                              {"type", "min_framebuffer", "min_heads", "min_resolution", "series",
                               "model", "gpu_milli", "count", "owner", "gpus", "deny_gpus",
                               "numa_node", "placement", "affinity", "distinct_gpus"}));
  Request rq;
  VGPU_TRY(type_name, r.optional_string("type"));
  const bool by_need = r.has("min_framebuffer") || r.has("min_heads") || r.has("min_resolution") ||
                       r.has("series") || r.has("model") || r.has("gpu_milli");
  if (type_name && by_need)
    return r.error("type",
                   "give either a type or requirements (min_framebuffer, min_heads, "
                   "min_resolution, series, model, gpu_milli), not both");
  if (!type_name && !by_need)
    return json_reader::error_at(origin, path,
                                 "say what to place: \"type\", or requirements such as "
                                 "\"min_framebuffer\": \"4GiB\"");
  if (type_name) {
    auto t = catalog.find_type(*type_name);
    if (!t) return r.error("type", t.error().message());
    rq.type = *t;
  }
  VGPU_TRY(fb, r.optional_string("min_framebuffer"));
  if (fb) {
    auto b = Bytes::parse(*fb);
    if (!b) return r.error("min_framebuffer", b.error().message());
    rq.requirement.min_framebuffer = *b;
  }
  VGPU_TRY(heads, r.optional_uint("min_heads", 16));
  rq.requirement.min_heads = static_cast<std::uint32_t>(heads.value_or(0));
  VGPU_TRY(res, r.optional_string("min_resolution"));
  if (res) {
    auto v = Resolution::parse(*res);
    if (!v) return r.error("min_resolution", v.error().message());
    rq.requirement.min_resolution = *v;
  }
  VGPU_TRY(series, r.optional_string("series"));
  if (series) {
    auto s = parse_series(*series);
    if (!s) return r.error("series", s.error().message());
    rq.requirement.series = *s;
  }
  VGPU_TRY(model, r.optional_string("model"));
  if (model) {
    auto m = catalog.find_model(*model);
    if (!m) return r.error("model", m.error().message());
    rq.requirement.model = (*m)->name;
  }
  VGPU_TRY(milli, r.optional_uint("gpu_milli", 1000));
  if (milli && *milli == 0) return r.error("gpu_milli", "must be 1 to 1000");
  rq.gpu_milli = static_cast<std::uint32_t>(milli.value_or(0));
  VGPU_TRY(count, r.optional_uint("count", max_count));
  if (count && *count == 0) return r.error("count", "must be at least 1");
  rq.count = static_cast<std::uint32_t>(count.value_or(1));
  VGPU_TRY(owner, r.optional_string("owner"));
  rq.owner = owner.value_or("");
  VGPU_TRY(allowed, read_gpus(r, "gpus", engine));
  VGPU_TRY(denied, read_gpus(r, "deny_gpus", engine));
  rq.constraints.allowed = std::move(allowed);
  rq.constraints.denied = std::move(denied);
  VGPU_TRY(numa, r.optional_uint("numa_node", 1023));
  if (numa) rq.constraints.numa_node = static_cast<std::uint32_t>(*numa);
  VGPU_TRY(placement, r.optional_uint("placement", 127));
  if (placement) {
    if (rq.count != 1) return r.error("placement", "only for a request of one vGPU (count 1)");
    rq.constraints.placement = static_cast<std::uint32_t>(*placement);
  }
  VGPU_TRY(affinity, r.optional_string("affinity"));
  if (affinity) {
    if (*affinity == "none")
      rq.constraints.affinity = Affinity::none;
    else if (*affinity == "numa")
      rq.constraints.affinity = Affinity::numa_node;
    else if (*affinity == "pci-root")
      rq.constraints.affinity = Affinity::pci_root;
    else
      return r.error("affinity", "must be \"none\", \"numa\" or \"pci-root\", not " +
                                     detail::quoted(*affinity));
  }
  VGPU_TRY(distinct, r.boolean("distinct_gpus", true));
  rq.constraints.distinct_gpus = distinct;
  return rq;
}

}  // namespace

Result<std::vector<Request>> parse_requests(std::string_view text, std::string_view origin,
                                            const TypeCatalog& catalog,
                                            const PlacementEngine& engine) {
  VGPU_TRY(doc, json_reader::parse(text, origin));
  const json* list = &doc;
  std::string base;
  if (doc.is_object()) {
    VGPU_TRY(r, ObjectReader::open(doc, "", origin, {"requests"}));
    VGPU_TRY(arr, r.array("requests", true));
    list = arr;
    base = "requests";
  } else if (!doc.is_array()) {
    return json_reader::error_at(origin, "",
                                 "must be an object {\"requests\": [...]} or an array of "
                                 "requests, not " +
                                     json_reader::type_name(doc));
  }
  std::vector<Request> out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    VGPU_TRY(rq, read_request((*list)[i], base + "[" + std::to_string(i) + "]", origin, catalog,
                              engine));
    out.push_back(std::move(rq));
  }
  if (out.empty()) return json_reader::error_at(origin, base, "holds no requests; nothing to plan");
  return out;
}

Result<std::vector<Request>> load_requests(const std::filesystem::path& path,
                                           const TypeCatalog& catalog,
                                           const PlacementEngine& engine) {
  auto text = files::read_text(path, "request file");
  if (!text) return text.error();
  return parse_requests(*text, path.string(), catalog, engine);
}

}  // namespace vgpu
