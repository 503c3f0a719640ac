// Host descriptions (docs/host-description.md): parse_host_description() on arbitrary text,
// against the built-in catalog. Invariants: errors follow the rules; a host that parses
// serialises (to_json) to text that parses to the same host, and the simulated backend
// accepts it (the header promises that parse output always passes).
#include <string>

#include "fuzz_support.hpp"
#include "vgpu/catalog_io.hpp"
#include "vgpu/host.hpp"
#include "vgpu/sys/backend.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vgpu;
  const TypeCatalog& catalog = builtin_catalog();
  auto host = parse_host_description(fuzz::text(data, size), "fuzz.json", catalog);
  if (!host) {
    FUZZ_CHECK_ERROR(host.error());
    return 0;
  }
  FUZZ_CHECK(!host->gpus.empty(), "a host without GPUs parsed");
  for (std::size_t i = 1; i < host->gpus.size(); ++i)
    FUZZ_CHECK(host->gpus[i - 1].address < host->gpus[i].address,
               "GPUs not in strict PCI address order: " + host->gpus[i].address.to_string());
  const std::string once = to_json(*host);
  auto again = parse_host_description(once, "roundtrip.json", catalog);
  FUZZ_CHECK(again.has_value(),
             "to_json() output does not parse: " + again.error().message() + "\n" + once);
  const std::string twice = to_json(*again);
  FUZZ_CHECK(once == twice, "host round trip changed the host:\n" + once + "\n" + twice);
  auto backend = sys::make_simulated_backend(*host);
  FUZZ_CHECK(backend.has_value(),
             "the simulated backend refuses a parsed host: " + backend.error().message());
  auto instances = (*backend)->instances();
  FUZZ_CHECK(instances && instances->size() == host->vgpus.size(),
             "the simulated backend lost vGPUs");
  return 0;
}
