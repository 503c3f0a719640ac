// An mdev type's attributes (the mdev backend): `description` through parse_description() and
// match_description() against every catalog model, and the first line as the type's `name`
// through the catalog.
// Invariants: keys are non-empty, lower case and trimmed, values trimmed, neither holds a
// separator; the fields written back as "key=value" lines parse to the same description; a
// matched type has exactly the geometry the description gives.
#include <string>

#include "backends/mdev/mdev.hpp"
#include "backends/sysfs/sysfs.hpp"
#include "fuzz_support.hpp"
#include "vgpu/catalog_io.hpp"

namespace {

bool same(const vgpu::sys::mdev::Description& a, const vgpu::sys::mdev::Description& b) {
  return a.fields == b.fields && a.framebuffer == b.framebuffer && a.heads == b.heads &&
         a.max_resolution == b.max_resolution && a.max_instances == b.max_instances &&
         a.frame_rate_limit == b.frame_rate_limit;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vgpu;
  using sys::mdev::Description;
  const std::string_view input = fuzz::text(data, size);
  const Description d = sys::mdev::parse_description(input);
  std::string text;
  for (const auto& [key, value] : d.fields) {
    FUZZ_CHECK(!key.empty() && key == sysfs::trim(key) && key == detail::to_lower(key),
               "bad key '" + key + "'");
    FUZZ_CHECK(key.find_first_of("=:,\n") == std::string::npos, "separator in key '" + key + "'");
    FUZZ_CHECK(value == sysfs::trim(value), "untrimmed value '" + value + "'");
    FUZZ_CHECK(value.find_first_of(",\n") == std::string::npos,
               "separator in value '" + value + "'");
    text += key + "=" + value + "\n";
  }
  const Description again = sys::mdev::parse_description(text);
  FUZZ_CHECK(same(d, again), "written back, the description reads differently: " + text);

  const TypeCatalog& catalog = builtin_catalog();
  for (const auto& model : catalog.models()) {
    const VgpuType* t = sys::mdev::match_description(*model, d);
    if (!t) continue;
    FUZZ_CHECK(d.framebuffer && t->framebuffer == *d.framebuffer && !t->is_mig_backed(),
               "matched " + t->name + " of another framebuffer");
    FUZZ_CHECK(!d.heads || t->max_heads == *d.heads, "matched " + t->name + " of other heads");
    FUZZ_CHECK(!d.max_instances || t->max_instances == *d.max_instances,
               "matched " + t->name + " of another max_instance");
    FUZZ_CHECK(!d.frame_rate_limit || t->frame_rate_limit == *d.frame_rate_limit,
               "matched " + t->name + " of another frl_config");
  }

  // The `name` attribute: read_parent() trims it and looks it up in the catalog.
  const std::string name = sysfs::trim(input.substr(0, input.find('\n')));
  if (auto ref = catalog.find_type(name)) {
    FUZZ_CHECK(ref->model && ref->type, "a type reference without a model or type");
  } else {
    FUZZ_CHECK_ERROR(ref.error());
  }
  return 0;
}
