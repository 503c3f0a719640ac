// nvidia/creatable_vgpu_types of a VF (the nvidia-vfio and nouveau backends): parse_creatable()
// on arbitrary text, and each listed name through the catalog as learn() does.
// Invariants: errors follow the rules (io_error, naming the file and line); parsed entries have
// an id of at least 1 and a non-empty name without surrounding blanks or line ends; and the
// list written in the driver's format ("%-5u : %s" under the header) parses to the same list.
#include <cstdio>
#include <string>

#include "backends/nvidia_vfio/nvidia_vfio.hpp"
#include "fuzz_support.hpp"
#include "vgpu/catalog_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vgpu;
  using sys::nvidia_vfio::KernelType;
  const std::string origin = "/sys/bus/pci/devices/0000:41:00.4/nvidia/creatable_vgpu_types";
  auto types = sys::nvidia_vfio::parse_creatable(fuzz::text(data, size), origin);
  if (!types) {
    FUZZ_CHECK_ERROR(types.error());
    FUZZ_CHECK(types.error().code() == Errc::io_error,
               "not an io_error: " + types.error().message());
    FUZZ_CHECK(types.error().message().rfind(origin + ": line ", 0) == 0,
               "the error does not name the file and line: " + types.error().message());
    return 0;
  }
  std::string text = "ID    : vGPU Name\n";
  bool error_checked = false;
  for (const KernelType& t : *types) {
    FUZZ_CHECK(t.id != 0, "type id 0 parsed");
    FUZZ_CHECK(!t.name.empty() && t.name == sysfs::trim(t.name), "untrimmed name: " + t.name);
    FUZZ_CHECK(t.name.find('\n') == std::string::npos, "a name across lines");
    // learn(): the catalog's canonical name, when it knows the type. The error find_type()
    // would give (with near names, a walk of the whole catalog) is checked for the first
    // unknown name only: that walk was half of this target's time.
    if (auto ref = builtin_catalog().try_find_type(t.name)) {
      FUZZ_CHECK(!ref->type->name.empty(), "a catalog type without a name");
    } else if (!error_checked) {
      error_checked = true;
      auto e = builtin_catalog().find_type(t.name);
      FUZZ_CHECK(!e, "find_type() knows a name try_find_type() does not: " + t.name);
      FUZZ_CHECK_ERROR(e.error());
    }
    char line[32];
    std::snprintf(line, sizeof line, "%-5u : ", t.id);
    text += line + t.name + "\n";
  }
  auto again = sys::nvidia_vfio::parse_creatable(text, origin);
  FUZZ_CHECK(again.has_value(), "the driver's format does not parse: " + text);
  FUZZ_CHECK(again->size() == types->size(), "round trip changed the number of types: " + text);
  for (std::size_t i = 0; i < types->size(); ++i)
    FUZZ_CHECK((*again)[i].id == (*types)[i].id && (*again)[i].name == (*types)[i].name,
               "round trip changed line " + std::to_string(i + 2) + ": " + text);
  return 0;
}
