// Catalog files (docs/catalog.md): load_catalog_text() on arbitrary text.
// Invariants: errors follow the rules for errors and leave the catalog as it was (all or
// nothing); every model that loads serialises (to_catalog_json) to text that loads again into
// an equal model (the same text once more).
#include <string>

#include "fuzz_support.hpp"
#include "vgpu/catalog_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vgpu;
  const std::string_view input = fuzz::text(data, size);
  TypeCatalog catalog;
  auto loaded = load_catalog_text(catalog, input, "fuzz.json");
  if (!loaded) {
    FUZZ_CHECK_ERROR(loaded.error());
    FUZZ_CHECK(catalog.models().empty(), "a failed load added models");
    return 0;
  }
  FUZZ_CHECK(!catalog.models().empty(), "a catalog that loads holds at least one model");
  for (const auto& model : catalog.models()) {
    const std::string once = to_catalog_json(*model);
    TypeCatalog again;
    auto reloaded = load_catalog_text(again, once, "roundtrip.json");
    FUZZ_CHECK(reloaded.has_value(), "to_catalog_json() output does not load: " +
                                         reloaded.error().message() + "\n" + once);
    FUZZ_CHECK(again.models().size() == 1, "one model serialised, several loaded");
    const std::string twice = to_catalog_json(*again.models().front());
    FUZZ_CHECK(once == twice, "catalog round trip changed the model:\n" + once + "\n" + twice);
  }
  // On top of the built-in catalog: a clash is refused as a whole, or everything is added.
  TypeCatalog builtin = builtin_catalog();
  const std::size_t before = builtin.models().size();
  auto added = load_catalog_text(builtin, input, "fuzz.json");
  if (!added) {
    FUZZ_CHECK_ERROR(added.error());
    FUZZ_CHECK(builtin.models().size() == before, "a failed load changed the catalog");
  } else {
    FUZZ_CHECK(builtin.models().size() == before + catalog.models().size(),
               "a load on top of the built-in catalog lost or dropped models");
  }
  return 0;
}
