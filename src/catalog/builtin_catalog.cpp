// The built-in catalog: data/catalog/*.json, embedded at build time and parsed on first use.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "catalog/embedded_catalog.hpp"
#include "vgpu/catalog_io.hpp"

namespace vgpu {

const TypeCatalog& builtin_catalog() {
  static const TypeCatalog catalog = [] {
    TypeCatalog c;
    for (std::size_t i = 0; i < detail::embedded_catalog_file_count; ++i) {
      const auto& file = detail::embedded_catalog_files[i];
      auto ok = load_catalog_text(c, file.text, std::string("built-in catalog ") + file.name);
      if (!ok) {
        // The build validates these files (tests/catalog); reaching this is a packaging bug.
        std::fprintf(stderr, "vgpu: internal error: %s\n", ok.error().message().c_str());
        std::abort();
      }
    }
    return c;
  }();
  return catalog;
}

}  // namespace vgpu
