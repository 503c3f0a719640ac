// Malformed catalog files: each is refused with a message naming the file and the field, and
// the catalog it was loaded into is left exactly as it was.
#include <catch2/catch.hpp>
#include <string>

#include "vgpu/catalog_io.hpp"

using namespace vgpu;

namespace {

// A valid one-model catalog; each case below breaks one thing in it.
std::string catalog_with(const std::string& model_extra, const std::string& type_extra,
                         const std::string& schema = "vgpu-catalog/1") {
  return R"({"schema": ")" + schema + R"(", "gpus": [{"name": "Test T1", "framebuffer_mib": 49152,
    "mixed_size": true)" +
         model_extra + R"(, "types": [
      {"name": "T1-48Q", "series": "Q", "framebuffer_mib": 49152, "max_heads": 4,
       "max_resolution": "5120x2880", "max_instances": 1, "max_instances_mixed": 1, "placement_ids": [0]},
      {"name": "T1-4Q", "series": "Q", "framebuffer_mib": 4096, "max_heads": 4,
       "max_resolution": "5120x2880", "max_instances": 12)" +
         type_extra + R"(}]}]})";
}

const std::string good_mixed =
    R"(, "max_instances_mixed": 8, "placement_ids": [0, 8, 12, 20, 24, 32, 36, 44])";

struct BadCase {
  std::string name;
  std::string text;
  std::string message;  // the whole message after "bad.json: "
  Errc code = Errc::invalid_argument;
};

}  // namespace

TEST_CASE("The test catalog itself is valid", "[catalog][errors]") {
  TypeCatalog c;
  auto ok = load_catalog_text(c, catalog_with("", good_mixed), "good.json");
  INFO((ok ? std::string() : ok.error().message()));
  CHECK(ok);
}

TEST_CASE("Malformed catalogs are refused with precise messages", "[catalog][errors]") {
  const std::vector<BadCase> cases = {
      {"placement beyond the framebuffer",
       catalog_with(
           "", R"(, "max_instances_mixed": 8, "placement_ids": [0, 8, 12, 20, 24, 32, 36, 48])"),
       "gpus[0].types[1].placement_ids: 48 exceeds framebuffer of 48 slots"},
      {"placement running past the end",
       catalog_with(
           "", R"(, "max_instances_mixed": 8, "placement_ids": [0, 8, 12, 20, 24, 32, 36, 46])"),
       "gpus[0].types[1].placement_ids: 46 + 4 exceeds framebuffer of 48 slots"},
      {"overlapping placements",
       catalog_with(
           "", R"(, "max_instances_mixed": 8, "placement_ids": [0, 2, 12, 20, 24, 32, 36, 44])"),
       "gpus[0].types[1].placement_ids: 2 overlaps 0 (each takes 4 slots)"},
      {"placements out of order",
       catalog_with(
           "", R"(, "max_instances_mixed": 8, "placement_ids": [0, 12, 8, 20, 24, 32, 36, 44])"),
       "gpus[0].types[1].placement_ids: must be strictly ascending (12 is followed by 8)"},
      {"placement count differs from the mixed maximum",
       catalog_with("", R"(, "max_instances_mixed": 8, "placement_ids": [0, 8])"),
       "gpus[0].types[1].placement_ids: lists 2 placements but max_instances_mixed is 8"},
      {"too many instances for the framebuffer",
       catalog_with("", good_mixed)
           .replace(catalog_with("", good_mixed).find("\"max_instances\": 12"), 19,
                    "\"max_instances\": 13"),
       "gpus[0].types[1].max_instances: 13 x 4096 MiB exceeds the GPU's 49152 MiB"},
      {"unknown series", catalog_with("", good_mixed + R"(, "series": "Z")"),
       "gpus[0].types[1].series: invalid series 'Z': expected one of Q, B, A, C"},
      {"bad resolution", catalog_with("", good_mixed + R"(, "max_resolution": "5120-2880")"),
       "gpus[0].types[1].max_resolution: invalid resolution '5120-2880': expected WIDTHxHEIGHT "
       "with "
       "each 1-65535, e.g. 5120x2880"},
      {"misspelt key", catalog_with("", good_mixed + R"(, "max_instance": 3)"),
       "gpus[0].types[1].max_instance: unknown key; expected one of: name, id, series, "
       "framebuffer_mib, "
       "max_heads, max_resolution, pixel_budget, frame_rate_limit, max_instances, "
       "max_instances_mixed, "
       "placement_size, placement_ids, mig_profile, deprecated, source, errata"},
      {"negative number", catalog_with(R"(, "gpus_per_board": -4)", good_mixed),
       "gpus[0].gpus_per_board: must not be negative"},
      {"string where a number belongs",
       catalog_with("", good_mixed + R"(, "framebuffer_mib": "4096")"),
       "gpus[0].types[1].framebuffer_mib: must be a whole number, not a string"},
      {"fractional number", catalog_with("", good_mixed + R"(, "pixel_budget": 1.5)"),
       "gpus[0].types[1].pixel_budget: must be a whole number, not a fractional number"},
      {"equal-size placements past the end",
       catalog_with("", good_mixed + R"(, "max_instances": 9, "placement_size": 6)"),
       "gpus[0].types[1].placement_size: 9 x 6 slots exceed the GPU's 48 slots"},
      {"type larger than the GPU", catalog_with("", good_mixed + R"(, "framebuffer_mib": 98304)"),
       "gpus[0].types[1].framebuffer_mib: 98304 exceeds the GPU's 49152 MiB"},
      {"duplicate type name", catalog_with("", good_mixed + R"(, "name": "t1-48q")"),
       "gpus[0].types[1].name: 't1-48q' already names types[0] of this model"},
      {"pixel budget below one display", catalog_with("", good_mixed + R"(, "pixel_budget": 1000)"),
       "gpus[0].types[1].pixel_budget: 1000 is smaller than one 5120x2880 display"},
      {"MIG type on a GPU without MIG",
       catalog_with(
           "",
           good_mixed +
               R"(, "mig_profile": {"name": "1g.5gb", "id": 19, "compute_slices": 1}, "placement_size": 1)"),
       "gpus[0].types[1].mig_profile: the model is not MIG-capable (set \"mig\": true)"},
      {"bad PCI device id", catalog_with(R"(, "pci_device_ids": ["0x25b"])", good_mixed),
       "gpus[0].pci_device_ids[0]: must be a 16-bit PCI device id such as \"0x25b6\""},
      {"unknown architecture", catalog_with(R"(, "architecture": "pascal")", good_mixed),
       "gpus[0].architecture: invalid architecture 'pascal': expected volta, turing, ampere, ada, "
       "hopper, blackwell or unknown"},
      {"missing framebuffer",
       R"({"schema": "vgpu-catalog/1", "gpus": [{"name": "N", "types": []}]})",
       "gpus[0].framebuffer_mib: is required"},
      {"no types",
       R"({"schema": "vgpu-catalog/1", "gpus": [{"name": "N", "framebuffer_mib": 1024, "types": []}]})",
       "gpus[0].types: a GPU model needs at least one vGPU type"},
      {"not JSON", "{\"schema\": \"vgpu-catalog/1\", \"gpus\": [",
       "not valid JSON: parse error at line 1, column 39: syntax error while parsing value - "
       "unexpected end of input; expected '[', '{', or a literal"},
      {"raw bytes in a parse error are escaped", "{\"schema\": \"vgpu\xff\x01",
       "not valid JSON: parse error at line 1, column 17: syntax error while parsing value - "
       "invalid string: ill-formed UTF-8 byte; last read: '\"vgpu\\xff'"},
      {"top level not an object", "[1, 2]", "must be an object, not an array"},
      {"no schema", R"({"gpus": []})", "schema: is required"},
      {"future schema", catalog_with("", good_mixed, "vgpu-catalog/2"),
       "schema: 'vgpu-catalog/2' is not a catalog format this vgpu reads (it reads "
       "vgpu-catalog/1); "
       "use a vgpu release that knows it, or convert the file",
       Errc::version_mismatch},
      {"control bytes are shown escaped", catalog_with("", good_mixed + R"(, "series": "\u0007")"),
       "gpus[0].types[1].series: invalid series '\\x07': expected one of Q, B, A, C"},
  };
  TypeCatalog catalog = builtin_catalog();
  const auto before = catalog.type_count();
  for (const auto& c : cases) {
    SECTION(c.name) {
      auto r = load_catalog_text(catalog, c.text, "bad.json");
      REQUIRE_FALSE(r);
      CHECK(r.error().message() == "bad.json: " + c.message);
      CHECK(r.error().code() == c.code);
      CHECK(catalog.type_count() == before);
    }
  }
}

TEST_CASE("A catalog that clashes with the built-in one names both sides", "[catalog][errors]") {
  TypeCatalog catalog = builtin_catalog();
  const std::string clash =
      R"({"schema": "vgpu-catalog/1", "gpus": [{"name": "My A16", "aliases": ["A16"],
    "framebuffer_mib": 16384, "types": [{"name": "Mine-16Q", "series": "Q", "framebuffer_mib": 16384,
    "max_heads": 4, "max_resolution": "5120x2880", "max_instances": 1}]}]})";
  auto r = load_catalog_text(catalog, clash, "mine.json");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == Errc::conflict);
  CHECK(
      r.error().message() ==
      "mine.json: gpus[0]: GPU model name 'A16' is already defined by NVIDIA A16; to override it, "
      "load with OnDuplicate::replace (vgpuctl: --replace-catalog)");
  // Type names clash regardless of case: look-ups ignore case, so both would be unreachable.
  const std::string case_clash = R"({"schema": "vgpu-catalog/1", "gpus": [{"name": "Other",
    "framebuffer_mib": 16384, "types": [{"name": "a16-8q", "series": "Q", "framebuffer_mib": 8192,
    "max_heads": 4, "max_resolution": "5120x2880", "max_instances": 2}]}]})";
  auto r2 = load_catalog_text(catalog, case_clash, "case.json");
  REQUIRE_FALSE(r2);
  CHECK_THAT(r2.error().message(),
             Catch::Contains("vGPU type 'a16-8q' is already defined by NVIDIA A16"));
  CHECK(catalog.find_type("A16-8Q"));
}

TEST_CASE("Types of one size must agree on how many fit (they share equal-size GPUs)",
          "[catalog][errors]") {
  const std::string text = R"({"schema": "vgpu-catalog/1", "gpus": [{"name": "Test T2",
    "framebuffer_mib": 16384, "types": [
      {"name": "T2-4Q", "series": "Q", "framebuffer_mib": 4096, "max_heads": 4,
       "max_resolution": "5120x2880", "max_instances": 4},
      {"name": "T2-4B", "series": "B", "framebuffer_mib": 4096, "max_heads": 2,
       "max_resolution": "2560x1600", "max_instances": 3}]}]})";
  TypeCatalog c;
  auto bad = load_catalog_text(c, text, "bad.json");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() ==
        "bad.json: gpus[0].types[1]: T2-4B has the framebuffer of T2-4Q but 3 x 4 slots instead "
        "of 4 x 4; types of one size share equal-size GPUs and must agree");
  CHECK(c.models().empty());
}
