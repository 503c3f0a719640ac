// Every catalog row against NVIDIA's published tables (the reference CSVs beside the checkout).
// A catalog value may differ from the printed one only through an erratum that records the
// printed value, the value used and why.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "vgpu/catalog_io.hpp"

using namespace vgpu;

namespace {

using Row = std::map<std::string, std::string>;

// RFC 4180 CSV: quoted fields may hold commas, doubled quotes and newlines.
std::vector<Row> read_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::vector<std::string>> records(1);
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
        field += '"', ++i;
      else if (c == '"')
        quoted = false;
      else
        field += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      records.back().push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      records.back().push_back(std::move(field));
      field.clear();
      records.emplace_back();
    } else if (c != '\r') {
      field += c;
    }
  }
  if (!field.empty() || !records.back().empty()) records.back().push_back(field);
  if (records.back().empty()) records.pop_back();
  std::vector<Row> rows;
  for (std::size_t r = 1; r < records.size(); ++r) {
    Row row;
    for (std::size_t c = 0; c < records[0].size() && c < records[r].size(); ++c)
      row[records[0][c]] = records[r][c];
    rows.push_back(std::move(row));
  }
  return rows;
}

const std::filesystem::path reference_dir{VGPU_REFERENCE_DATA};

bool have_reference() {
  if (std::filesystem::exists(reference_dir / "vgpu_types.csv")) return true;
  WARN("reference tables not found at " << reference_dir << "; skipped (CI requires them)");
  return false;
}

const Erratum* erratum(const VgpuType& t, const std::string& field) {
  for (const auto& e : t.errata)
    if (e.field == field) return &e;
  return nullptr;
}

// The catalog value must equal the printed one, or an erratum must explain the difference.
void check_field(const VgpuType& t, const std::string& field, const std::string& printed,
                 const std::string& catalog) {
  INFO(t.name << "." << field << ": reference prints '" << printed << "', catalog has '" << catalog
              << "'");
  if (const Erratum* e = erratum(t, field)) {
    CHECK(e->printed == printed);
    CHECK(e->used == catalog);
    CHECK(!e->why.empty());
  } else {
    CHECK(printed == catalog);
  }
}

std::string number_or_empty(std::uint64_t n) {
  return n == 0 ? "" : std::to_string(n);
}

std::string join(const std::vector<std::uint32_t>& v) {
  std::string out;
  for (auto x : v)
    out += (out.empty() ? "" : " ") + std::to_string(x);
  return out;
}

}  // namespace

TEST_CASE("Every vGPU type row of the reference tables is in the catalog, as printed",
          "[reference]") {
  if (!have_reference()) return;
  const auto rows = read_csv(reference_dir / "vgpu_types.csv");
  REQUIRE(rows.size() > 300);
  const TypeCatalog& c = builtin_catalog();
  std::map<std::string, const GpuModel*> model_of_reference_gpu;
  std::set<std::string> seen;
  for (const auto& row : rows) {
    const std::string& name = row.at("vgpu_type");
    INFO("reference row " << row.at("gpu") << " / " << name);
    auto ref = c.find_type(name);
    REQUIRE(ref);
    const VgpuType& t = *ref->type;
    CHECK(t.name == name);
    seen.insert(name);
    // All rows of one reference GPU land in one catalog model of that framebuffer.
    auto [it, fresh] = model_of_reference_gpu.emplace(row.at("gpu"), ref->model.get());
    CHECK(it->second == ref->model.get());
    if (fresh) {
      CHECK(std::to_string(ref->model->framebuffer.in_mib()) == row.at("gpu_framebuffer_mib"));
      CHECK(std::to_string(ref->model->gpus_per_board) == row.at("board_gpus_per_board"));
    }
    check_field(t, "series", row.at("series"), to_string(t.series));
    check_field(t, "framebuffer_mib", row.at("framebuffer_mib"),
                std::to_string(t.framebuffer.in_mib()));
    check_field(t, "max_heads", row.at("max_heads"), number_or_empty(t.max_heads));
    check_field(t, "max_resolution", row.at("max_resolution"),
                t.max_resolution.pixels() ? t.max_resolution.to_string() : "");
    check_field(t, "max_instances", row.at("max_per_gpu_equal_size"),
                std::to_string(t.max_instances));
    check_field(t, "max_instances_mixed", row.at("max_per_gpu_mixed_size"),
                number_or_empty(t.max_instances_mixed));
    check_field(t, "mig_profile", row.at("mig_profile"), t.mig ? "MIG " + t.mig->name : "");
    std::smatch pixels;
    const std::string& notes = row.at("notes");
    const bool has_pixels =
        std::regex_search(notes, pixels, std::regex("available_pixels=([0-9]+)"));
    check_field(t, "pixel_budget", has_pixels ? pixels[1].str() : "",
                number_or_empty(t.pixel_budget));
    CHECK(t.deprecated == (notes.find("deprecated in this release") != std::string::npos));
  }
  // Nothing invented: the catalog holds exactly the reference's types.
  CHECK(seen.size() == rows.size());
  CHECK(c.type_count() == rows.size());
}

TEST_CASE("Every mixed-size placement matches the reference placement tables", "[reference]") {
  if (!have_reference()) return;
  struct Placement {
    std::string size, max_mixed, ids;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Placement>
      table;  // region, MiB, arch
  for (const auto& row : read_csv(reference_dir / "vgpu_placements.csv")) {
    const std::string& note = row.at("gpu_note");
    const std::string arch = note.find("except Ada") != std::string::npos     ? "not-ada"
                             : note.find("Ada Lovelace") != std::string::npos ? "ada"
                                                                              : "";
    table[{row.at("region_gib"), row.at("vgpu_framebuffer_mib"), arch}] =
        Placement{row.at("placement_size_slots"), row.at("max_mixed"), row.at("placement_ids")};
  }
  std::size_t checked = 0;
  for (const auto& m : builtin_catalog().models()) {
    if (!m->mixed_size_capable) continue;
    const std::string region = std::to_string(m->slots());
    const std::string arch = m->architecture == Architecture::ada ? "ada" : "not-ada";
    for (const auto& t : m->types) {
      if (t.is_mig_backed()) continue;
      INFO(m->name << " / " << t.name);
      const std::string mib = std::to_string(t.framebuffer.in_mib());
      auto it = table.find({region, mib, ""});
      if (it == table.end()) it = table.find({region, mib, arch});
      REQUIRE(it != table.end());
      CHECK(it->second.size == std::to_string(t.placement_size));
      check_field(t, "placement_ids", it->second.ids, join(t.placement_ids));
      if (!erratum(t, "max_instances_mixed") && !erratum(t, "placement_ids"))
        CHECK(it->second.max_mixed == std::to_string(t.max_instances_mixed));
      ++checked;
    }
  }
  CHECK(checked > 250);
}
