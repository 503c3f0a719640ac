// Catalog files (schema "vgpu-catalog/1") <-> GpuModel. See docs/catalog.md.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/json_reader.hpp"
#include "common/read_file.hpp"
#include "vgpu/catalog_io.hpp"

namespace vgpu {
namespace {

using json_reader::json;
using json_reader::ObjectReader;

constexpr std::string_view catalog_schema = "vgpu-catalog/1";

Result<std::vector<std::uint32_t>> read_uint_list(const ObjectReader& r, std::string_view key,
                                                  std::uint64_t max) {
  VGPU_TRY(list, r.array(key, false));
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    VGPU_TRY(v, r.uint_value((*list)[i], r.path(key) + "[" + std::to_string(i) + "]", max));
    out.push_back(static_cast<std::uint32_t>(v));
  }
  return out;
}

Result<MigProfile> read_mig_profile(const json& value, const std::string& path,
                                    std::string_view origin) {
  VGPU_TRY(r, ObjectReader::open(value, path, origin, {"name", "id", "compute_slices"}));
  MigProfile p;
  VGPU_TRY(name, r.string("name"));
  VGPU_TRY(id, r.uint("id"));
  VGPU_TRY(compute, r.uint("compute_slices", 7));
  if (name.empty()) return r.error("name", "must not be empty");
  if (compute == 0) return r.error("compute_slices", "must be 1 to 7");
  p.name = name;
  p.profile_id = static_cast<std::uint32_t>(id);
  p.compute_slices = static_cast<std::uint32_t>(compute);
  return p;
}

Result<Erratum> read_erratum(const json& value, const std::string& path, std::string_view origin) {
  VGPU_TRY(r, ObjectReader::open(value, path, origin, {"field", "printed", "used", "why"}));
  VGPU_TRY(field, r.string("field"));
  VGPU_TRY(printed, r.string("printed"));
  VGPU_TRY(used, r.string("used"));
  VGPU_TRY(why, r.string("why"));
  return Erratum{field, printed, used, why};
}

Result<VgpuType> read_type(const json& value, const std::string& path, std::string_view origin) {
  VGPU_TRY(
      r, ObjectReader::open(
             value, path, origin,
             {"name", "id", "series", "framebuffer_mib", "max_heads", "max_resolution",
              "pixel_budget", "frame_rate_limit", "max_instances", "max_instances_mixed",
              "placement_size", "placement_ids", "mig_profile", "deprecated", "source", "errata"}));
  VgpuType t;
  VGPU_TRY(name, r.string("name"));
  if (name.empty()) return r.error("name", "must not be empty");
  t.name = name;
  VGPU_TRY(id, r.optional_uint("id"));
  if (id && *id == 0) return r.error("id", "driver type ids start at 1 (leave it out if unknown)");
  t.id = VgpuTypeId{static_cast<std::uint32_t>(id.value_or(0))};
  VGPU_TRY(series_text, r.string("series"));
  auto series = parse_series(series_text);
  if (!series) return r.error("series", series.error().message());
  t.series = *series;
  VGPU_TRY(fb, r.uint("framebuffer_mib", 1ULL << 30));
  t.framebuffer = Bytes::mib(fb);
  VGPU_TRY(heads, r.optional_uint("max_heads", 64));
  t.max_heads = static_cast<std::uint32_t>(heads.value_or(0));
  VGPU_TRY(res_text, r.optional_string("max_resolution"));
  if (res_text) {
    auto res = Resolution::parse(*res_text);
    if (!res) return r.error("max_resolution", res.error().message());
    t.max_resolution = *res;
  }
  VGPU_TRY(pixels, r.optional_uint("pixel_budget", 1ULL << 40));
  t.pixel_budget = pixels.value_or(0);
  VGPU_TRY(frl, r.optional_uint("frame_rate_limit", 1000));
  t.frame_rate_limit = static_cast<std::uint32_t>(frl.value_or(0));
  VGPU_TRY(max_eq, r.uint("max_instances", 4096));
  t.max_instances = static_cast<std::uint32_t>(max_eq);
  VGPU_TRY(max_mixed, r.optional_uint("max_instances_mixed", 4096));
  t.max_instances_mixed = static_cast<std::uint32_t>(max_mixed.value_or(0));
  if (r.has("mig_profile")) {
    VGPU_TRY(mig, read_mig_profile(r.raw("mig_profile"), r.path("mig_profile"), origin));
    t.mig = mig;
  }
  VGPU_TRY(size, r.optional_uint("placement_size", 4096));
  if (!size && t.is_mig_backed())
    return r.error("placement_size", "is required for MIG-backed types (memory slices)");
  // Time-sliced: one slot per started GiB, unless the file says otherwise.
  t.placement_size = static_cast<std::uint32_t>(
      size.value_or(std::max<std::uint64_t>(1, t.framebuffer.gib_slots())));
  VGPU_TRY(ids, read_uint_list(r, "placement_ids", 4096));
  t.placement_ids = std::move(ids);
  VGPU_TRY(deprecated, r.boolean("deprecated", false));
  t.deprecated = deprecated;
  VGPU_TRY(source, r.optional_string("source"));
  t.source = source.value_or("");
  VGPU_TRY(errata, r.array("errata", false));
  for (std::size_t i = 0; i < errata->size(); ++i) {
    VGPU_TRY(e,
             read_erratum((*errata)[i], r.path("errata") + "[" + std::to_string(i) + "]", origin));
    t.errata.push_back(std::move(e));
  }
  return t;
}

Result<GpuModel> read_model(const json& value, const std::string& path, std::string_view origin,
                            const std::string& file_source) {
  VGPU_TRY(
      r, ObjectReader::open(value, path, origin,
                            {"name", "aliases", "architecture", "pci_device_ids", "gpus_per_board",
                             "framebuffer_mib", "mixed_size", "mig", "types", "source"}));
  GpuModel m;
  VGPU_TRY(name, r.string("name"));
  if (name.empty()) return r.error("name", "must not be empty");
  m.name = name;
  VGPU_TRY(aliases, r.array("aliases", false));
  for (std::size_t i = 0; i < aliases->size(); ++i) {
    VGPU_TRY(a, r.string_value((*aliases)[i], r.path("aliases") + "[" + std::to_string(i) + "]"));
    if (a.empty()) return r.error("aliases", "must not hold an empty name");
    m.aliases.push_back(a);
  }
  VGPU_TRY(arch, r.optional_string("architecture"));
  if (arch) {
    auto a = parse_architecture(*arch);
    if (!a) return r.error("architecture", a.error().message());
    m.architecture = *a;
  }
  VGPU_TRY(ids, r.array("pci_device_ids", false));
  for (std::size_t i = 0; i < ids->size(); ++i) {
    const std::string at = r.path("pci_device_ids") + "[" + std::to_string(i) + "]";
    const json& v = (*ids)[i];
    std::optional<std::uint16_t> id;
    if (v.is_string()) {
      std::string s = v.get<std::string>();
      if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.erase(0, 2);
      if (s.size() == 4) id = detail::parse_unsigned<std::uint16_t>(s, 16);
    } else if (v.is_number_unsigned() && v.get<std::uint64_t>() <= 0xffff) {
      id = static_cast<std::uint16_t>(v.get<std::uint64_t>());
    }
    if (!id)
      return json_reader::error_at(origin, at, "must be a 16-bit PCI device id such as \"0x25b6\"");
    m.pci_device_ids.push_back(*id);
  }
  VGPU_TRY(per_board, r.optional_uint("gpus_per_board", 64));
  m.gpus_per_board = static_cast<std::uint32_t>(per_board.value_or(1));
  VGPU_TRY(fb, r.uint("framebuffer_mib", 1ULL << 30));
  m.framebuffer = Bytes::mib(fb);
  VGPU_TRY(mixed, r.boolean("mixed_size", false));
  m.mixed_size_capable = mixed;
  VGPU_TRY(mig, r.boolean("mig", false));
  m.mig_capable = mig;
  VGPU_TRY(source, r.optional_string("source"));
  m.source = source.value_or(file_source);
  VGPU_TRY(types, r.array("types", true));
  for (std::size_t i = 0; i < types->size(); ++i) {
    VGPU_TRY(t, read_type((*types)[i], r.path("types") + "[" + std::to_string(i) + "]", origin));
    m.types.push_back(std::move(t));
  }
  // validate() names the field relative to the model: "types[5].placement_ids: ...".
  if (auto ok = validate(m); !ok)
    return Error(Errc::invalid_argument,
                 std::string(origin) + ": " + path + "." + ok.error().message());
  return m;
}

Result<std::vector<GpuModel>> read_catalog(std::string_view text, std::string_view origin) {
  VGPU_TRY(doc, json_reader::parse(text, origin));
  VGPU_TRY(r, ObjectReader::open(doc, "", origin, {"schema", "source", "gpus"}));
  VGPU_TRY(schema, r.string("schema"));
  if (schema != catalog_schema)
    return json_reader::error_at(
        origin, "schema",
        detail::quoted(schema) + " is not a catalog format this vgpu reads (it reads " +
            std::string(catalog_schema) +
            "); use a vgpu release that knows it, or convert the file",
        schema.rfind("vgpu-catalog/", 0) == 0 ? Errc::version_mismatch : Errc::invalid_argument);
  VGPU_TRY(source, r.optional_string("source"));
  VGPU_TRY(gpus, r.array("gpus", true));
  if (gpus->empty()) return r.error("gpus", "must list at least one GPU model");
  std::vector<GpuModel> models;
  for (std::size_t i = 0; i < gpus->size(); ++i) {
    VGPU_TRY(m, read_model((*gpus)[i], "gpus[" + std::to_string(i) + "]", origin,
                           source.value_or(std::string(origin))));
    models.push_back(std::move(m));
  }
  return models;
}

Result<void> add_all(TypeCatalog& catalog, std::vector<std::pair<std::string, std::string>> files,
                     OnDuplicate on_duplicate) {
  // All-or-nothing: work on a copy, publish only when every file applied.
  TypeCatalog next = catalog;
  for (const auto& [origin, text] : files) {
    VGPU_TRY(models, read_catalog(text, origin));
    for (std::size_t i = 0; i < models.size(); ++i) {
      if (auto ok = next.add(std::move(models[i]), on_duplicate); !ok)
        return ok.error().with_context(origin + ": gpus[" + std::to_string(i) + "]");
    }
  }
  catalog = std::move(next);
  return {};
}

}  // namespace

Result<void> load_catalog_text(TypeCatalog& catalog, std::string_view text, std::string_view origin,
                               OnDuplicate on_duplicate) {
  return add_all(catalog, {{std::string(origin), std::string(text)}}, on_duplicate);
}

Result<void> load_catalog_path(TypeCatalog& catalog, const std::filesystem::path& path,
                               OnDuplicate on_duplicate) {
  std::error_code ec;
  std::vector<std::filesystem::path> paths;
  if (std::filesystem::is_directory(path, ec)) {
    for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().extension() == ".json") paths.push_back(it->path());
    if (ec) return fail(Errc::io_error, "cannot list " + path.string() + ": " + ec.message());
    if (paths.empty())
      return fail(Errc::not_found, path.string() + " holds no *.json catalog files");
    std::sort(paths.begin(), paths.end());
  } else {
    paths.push_back(path);
  }
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& p : paths) {
    VGPU_TRY(text, files::read_text(p, ""));
    files.emplace_back(p.string(), std::move(text));
  }
  return add_all(catalog, std::move(files), on_duplicate);
}

std::string to_catalog_json(const GpuModel& m) {
  json model = {{"name", m.name},
                {"aliases", m.aliases},
                {"architecture", std::string(to_string(m.architecture))},
                {"gpus_per_board", m.gpus_per_board},
                {"framebuffer_mib", m.framebuffer.in_mib()},
                {"mixed_size", m.mixed_size_capable},
                {"mig", m.mig_capable},
                {"source", m.source}};
  json ids = json::array();
  for (auto id : m.pci_device_ids) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%04x", id);
    ids.push_back(buf);
  }
  model["pci_device_ids"] = ids;
  json types = json::array();
  for (const auto& t : m.types) {
    json j = {{"name", t.name},
              {"series", to_string(t.series)},
              {"framebuffer_mib", t.framebuffer.in_mib()},
              {"max_instances", t.max_instances},
              {"placement_size", t.placement_size}};
    if (t.id.value != 0) j["id"] = t.id.value;
    if (t.max_heads != 0) j["max_heads"] = t.max_heads;
    if (t.max_resolution.pixels() != 0) j["max_resolution"] = t.max_resolution.to_string();
    if (t.pixel_budget != 0) j["pixel_budget"] = t.pixel_budget;
    if (t.frame_rate_limit != 0) j["frame_rate_limit"] = t.frame_rate_limit;
    if (t.max_instances_mixed != 0) j["max_instances_mixed"] = t.max_instances_mixed;
    if (!t.placement_ids.empty()) j["placement_ids"] = t.placement_ids;
    if (t.mig)
      j["mig_profile"] = {{"name", t.mig->name},
                          {"id", t.mig->profile_id},
                          {"compute_slices", t.mig->compute_slices}};
    if (t.deprecated) j["deprecated"] = true;
    if (!t.source.empty()) j["source"] = t.source;
    if (!t.errata.empty()) {
      json errata = json::array();
      for (const auto& e : t.errata)
        errata.push_back(
            {{"field", e.field}, {"printed", e.printed}, {"used", e.used}, {"why", e.why}});
      j["errata"] = errata;
    }
    types.push_back(std::move(j));
  }
  model["types"] = std::move(types);
  json doc = {{"schema", catalog_schema}, {"gpus", json::array({model})}};
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace vgpu
