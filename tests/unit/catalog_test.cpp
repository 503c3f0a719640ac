#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "vgpu/catalog_io.hpp"

using namespace vgpu;

namespace {

bool same_type(const VgpuType& a, const VgpuType& b) {
  return a.id == b.id && a.name == b.name && a.series == b.series &&
         a.framebuffer == b.framebuffer && a.max_heads == b.max_heads &&
         a.max_resolution == b.max_resolution && a.pixel_budget == b.pixel_budget &&
         a.frame_rate_limit == b.frame_rate_limit && a.max_instances == b.max_instances &&
         a.max_instances_mixed == b.max_instances_mixed && a.placement_size == b.placement_size &&
         a.placement_ids == b.placement_ids && a.is_mig_backed() == b.is_mig_backed() &&
         a.deprecated == b.deprecated && a.errata.size() == b.errata.size() &&
         (!a.mig || (a.mig->name == b.mig->name && a.mig->profile_id == b.mig->profile_id &&
                     a.mig->compute_slices == b.mig->compute_slices));
}

}  // namespace

TEST_CASE("The built-in catalog holds every GPU model of the reference tables", "[catalog]") {
  const TypeCatalog& c = builtin_catalog();
  CHECK(c.models().size() == 18);
  CHECK(c.type_count() == 353);
  for (const char* model : {"A16", "A40", "A10", "A2", "L4", "L20", "L40", "L40S", "RTX 6000 Ada",
                            "RTX A6000", "T4", "V100 PCIe 32GB", "A100 PCIe 40GB", "A100 PCIe 80GB",
                            "A100 HGX 80GB", "H100 PCIe 80GB", "H100 SXM5 80GB", "H100 NVL"}) {
    INFO(model);
    CHECK(c.find_model(model));
  }
}

TEST_CASE("Every catalog entry is internally consistent", "[catalog]") {
  for (const auto& m : builtin_catalog().models()) {
    INFO(m->name);
    REQUIRE(validate(*m));
    CHECK(!m->source.empty());
    for (const auto& t : m->types) {
      INFO(t.name);
      CHECK(!t.source.empty());
      if (t.is_mig_backed()) {
        CHECK(m->mig_capable);
        CHECK(t.max_instances * t.placement_size <= mig_memory_slices);
        CHECK(t.placement_ids.size() >= t.max_instances);
        CHECK(t.max_heads == 0);
        continue;
      }
      // Sizes x max instances fit the GPU, in MiB and in slots.
      CHECK(t.framebuffer.in_mib() * t.max_instances <= m->framebuffer.in_mib());
      CHECK(t.placement_size * t.max_instances <= m->slots());
      CHECK(t.placement_size >= t.framebuffer.gib_slots());
      // The number in the name is the framebuffer in GiB (within 1%: -94C is 96246 MiB).
      const auto dash = t.name.rfind('-');
      const double gib = std::stod(t.name.substr(dash + 1));
      const double off = std::abs(gib * 1024 - static_cast<double>(t.framebuffer.in_mib()));
      CHECK(off <= gib * 1024 * 0.01);
      const bool series_suffix = t.name.back() == static_cast<char>(t.series) ||
                                 t.name.substr(t.name.size() - 2) == "B4";  // deprecated -1B4/-2B4
      CHECK(series_suffix);
      // Mixed-size mode: the placement IDs number the mixed-size maximum, never above equal-size.
      if (m->mixed_size_capable) {
        CHECK(t.max_instances_mixed >= 1);
        CHECK(t.placement_ids.size() == t.max_instances_mixed);
        CHECK(t.max_instances_mixed <= t.max_instances);
        for (auto id : t.placement_ids)
          CHECK(id + t.placement_size <= m->slots());
      } else {
        CHECK(t.max_instances_mixed == 0);
        CHECK(t.placement_ids.empty());
      }
      // Display rules (reference/display-rules.md).
      switch (t.series) {
        case Series::Q:
        case Series::B:
          CHECK(t.max_heads == 4);
          CHECK(t.pixel_budget >= t.max_resolution.pixels());
          CHECK(t.frame_rate_limit == (t.series == Series::B ? 45u : 60u));
          break;
        case Series::A:
          CHECK(t.max_heads == 1);
          CHECK(t.max_resolution == Resolution(1280, 1024));
          CHECK(t.frame_rate_limit == 60);
          break;
        case Series::C:
          CHECK(t.max_heads == 1);
          CHECK(t.max_resolution == Resolution(3840, 2400));
          CHECK(t.frame_rate_limit == 60);
          break;
      }
    }
  }
}

TEST_CASE("Type look-ups accept the spellings users and drivers use", "[catalog]") {
  const TypeCatalog& c = builtin_catalog();
  for (const char* name : {"A16-2Q", "a16-2q", "NVIDIA A16-2Q", "GRID A16-2Q", "nvidia a16-2Q"}) {
    INFO(name);
    auto t = c.find_type(name);
    REQUIRE(t);
    CHECK(t->type->name == "A16-2Q");
    CHECK(t->model->name == "NVIDIA A16");
    CHECK(t->type->framebuffer == Bytes::mib(2048));
  }
  // The driver spells Ada workstation types without spaces.
  CHECK(c.find_type("NVIDIA RTX6000-Ada-4Q")->type->name == "RTX 6000 Ada-4Q");
  auto missing = c.find_type("A16-3Q");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == Errc::not_found);
  CHECK_THAT(missing.error().message(), Catch::Contains("A16-2Q") && Catch::Contains("A16-4Q"));
  // try_find_type(): the same look-up, without the error.
  for (const char* name : {"a16-2q", "GRID A16-2Q", "NVIDIA RTX6000-Ada-4Q"}) {
    INFO(name);
    auto t = c.try_find_type(name);
    REQUIRE(t);
    CHECK(t->type == c.find_type(name)->type);
  }
  CHECK_FALSE(c.try_find_type("A16-3Q"));
  CHECK_FALSE(c.try_find_type(""));
}

TEST_CASE("Look-ups by driver id, model, PCI device id and requirement", "[catalog]") {
  const TypeCatalog& c = builtin_catalog();
  CHECK(c.find_type(VgpuTypeId{869})->type->name == "L40-1B");
  CHECK(c.find_type(VgpuTypeId{941})->type->name == "RTX 6000 Ada-1Q");
  CHECK_FALSE(c.find_type(VgpuTypeId{1}));
  CHECK(c.find_model("nvidia a40").value()->name == "NVIDIA A40");
  CHECK(c.find_model("RTX6000-Ada").value()->name == "NVIDIA RTX 6000 Ada");
  auto unknown = c.find_model("B200");
  REQUIRE_FALSE(unknown);
  CHECK_THAT(unknown.error().message(), Catch::Contains("known models: A10, A100 HGX 80GB"));
  auto shared = c.find_models_by_pci_device(0x25b6);  // A2 and A16 share a device id
  CHECK(shared.size() == 2);
  CHECK(c.find_models_by_pci_device(0x20b5).front()->name == "NVIDIA A100 PCIe 80GB");
  CHECK(c.find_models_by_pci_device(0xffff).empty());

  TypeRequirement need;
  need.min_framebuffer = Bytes::gib(3);
  need.min_heads = 2;
  need.series = Series::Q;
  need.model = "A16";
  auto fits = c.find_types(need);
  REQUIRE(!fits.empty());
  CHECK(fits.front().type->name == "A16-4Q");  // smallest Q with >= 3 GiB on an A16
  need.min_resolution = Resolution(7680, 4320);
  CHECK(c.find_types(need).empty());  // no type drives 8K per head at its max resolution
  TypeRequirement compute;
  compute.min_framebuffer = Bytes::gib(40);
  compute.series = Series::C;
  compute.model = "H100 NVL";
  CHECK(c.find_types(compute).front().type->name == "H100L-3-47C");  // 47 GiB, fewest compute
  compute.include_mig_backed = false;
  CHECK(c.find_types(compute).front().type->name == "H100L-47C");
  TypeRequirement deprecated;
  deprecated.model = "T4";
  deprecated.series = Series::B;
  CHECK(c.find_types(deprecated).size() == 2);
  deprecated.include_deprecated = true;
  CHECK(c.find_types(deprecated).size() == 4);
}

TEST_CASE("Catalog models round-trip through the file format", "[catalog]") {
  for (const auto& m : builtin_catalog().models()) {
    INFO(m->name);
    TypeCatalog fresh;
    REQUIRE(load_catalog_text(fresh, to_catalog_json(*m), "round-trip"));
    const GpuModel& back = *fresh.models().front();
    CHECK(back.name == m->name);
    CHECK(back.aliases == m->aliases);
    CHECK(back.architecture == m->architecture);
    CHECK(back.pci_device_ids == m->pci_device_ids);
    CHECK(back.framebuffer == m->framebuffer);
    CHECK(back.mixed_size_capable == m->mixed_size_capable);
    CHECK(back.mig_capable == m->mig_capable);
    REQUIRE(back.types.size() == m->types.size());
    for (std::size_t i = 0; i < back.types.size(); ++i)
      CHECK(same_type(back.types[i], m->types[i]));
  }
}

TEST_CASE("Duplicates are refused or replace, as asked", "[catalog]") {
  TypeCatalog c = builtin_catalog();
  GpuModel custom = *c.find_model("H100 NVL").value();
  for (auto& t : custom.types) {
    if (t.name == "H100L-47C") {  // an operator whose driver allows two
      t.max_instances = 2;
      t.framebuffer = Bytes::mib(48000);
    }
  }
  auto refused = c.add(custom);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == Errc::conflict);
  CHECK_THAT(refused.error().message(), Catch::Contains("already defined by NVIDIA H100 NVL"));
  CHECK(c.find_type("H100L-47C")->type->max_instances == 1);  // unchanged
  REQUIRE(c.add(custom, OnDuplicate::replace));
  CHECK(c.find_type("H100L-47C")->type->max_instances == 2);
  CHECK(c.models().size() == 18);
  // The process-wide built-in catalog is untouched by changes to a copy.
  CHECK(builtin_catalog().find_type("H100L-47C")->type->max_instances == 1);
}

TEST_CASE("Catalog files and directories load at run time", "[catalog]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "vgpu-catalog-test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const char* model =
      R"({"schema": "vgpu-catalog/1", "gpus": [{"name": "Example X1", "aliases": ["X1"],
    "framebuffer_mib": 8192, "mixed_size": true, "types": [
      {"name": "X1-8Q", "series": "Q", "framebuffer_mib": 8192, "max_heads": 1,
       "max_resolution": "1920x1080", "max_instances": 1, "max_instances_mixed": 1, "placement_ids": [0]},
      {"name": "X1-4Q", "series": "Q", "framebuffer_mib": 4096, "max_heads": 1,
       "max_resolution": "1920x1080", "max_instances": 2, "max_instances_mixed": 2, "placement_ids": [0, 4]}]}]})";
  std::ofstream(dir / "x1.json") << model;
  TypeCatalog c = builtin_catalog();
  REQUIRE(load_catalog_path(c, dir));
  CHECK(c.find_type("X1-4Q")->type->placement_size == 4);  // defaulted from the framebuffer
  CHECK(c.find_model("x1").value()->name == "Example X1");
  // Loading the same directory again is refused, all-or-nothing.
  std::ofstream(dir / "y.json")
      << R"({"schema": "vgpu-catalog/1", "gpus": [{"name": "Y", "framebuffer_mib": 1024,
    "types": [{"name": "Y-1Q", "series": "Q", "framebuffer_mib": 1024, "max_instances": 1}]}]})";
  auto again = load_catalog_path(c, dir);
  REQUIRE_FALSE(again);
  CHECK(again.error().code() == Errc::conflict);
  CHECK_FALSE(c.find_type("Y-1Q"));  // y.json was valid but the load as a whole failed
  auto missing = load_catalog_path(c, dir / "nope.json");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == Errc::not_found);
  fs::remove_all(dir);
}
