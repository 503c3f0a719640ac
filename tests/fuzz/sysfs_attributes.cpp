// The single-value sysfs attributes the backends read: numbers (vendor, device, sriov_*,
// current_vgpu_type, numa_node: sysfs::parse_number), mdev available_instances and counts
// (mdev::small_number), sizes (mdev::size_of), and a VF's nvidia/vgpu_params
// (nvidia_vfio::placement_param).
// Invariants: each value that parses prints back (decimal, and hex for numbers) to text that
// parses to the same value; counts agree with numbers; placements are at most 1024; trim()
// is idempotent.
#include <cstdio>
#include <string>

#include "backends/mdev/mdev.hpp"
#include "backends/nvidia_vfio/nvidia_vfio.hpp"
#include "backends/sysfs/sysfs.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vgpu;
  const std::string input(fuzz::text(data, size));

  const std::string trimmed = sysfs::trim(input);
  FUZZ_CHECK(sysfs::trim(trimmed) == trimmed, "trim() is not idempotent");

  const auto number = sysfs::parse_number(input);
  if (number) {
    FUZZ_CHECK(sysfs::parse_number(std::to_string(*number)) == number,
               "a number does not read back: " + std::to_string(*number));
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%llx\n", static_cast<unsigned long long>(*number));
    FUZZ_CHECK(sysfs::parse_number(hex) == number, std::string("hex does not read back: ") + hex);
  }
  const auto count = sys::mdev::small_number(input);
  FUZZ_CHECK(count.has_value() == (number && *number <= 0xffffffffu),
             "small_number() and parse_number() disagree on " + input);
  if (count) FUZZ_CHECK(*count == *number, "small_number() changed the value");

  if (const auto bytes = sys::mdev::size_of(input)) {
    if (bytes->count() % (1u << 20) == 0) {
      const auto back = sys::mdev::size_of(std::to_string(bytes->in_mib()) + "M");
      FUZZ_CHECK(back == bytes, "a size does not read back: " + bytes->to_string());
    }
  }

  if (const auto placement = sys::nvidia_vfio::placement_param(input)) {
    FUZZ_CHECK(*placement <= 1024, "placement above 1024");
    const std::string params = "vgpu-placement-id=" + std::to_string(*placement);
    FUZZ_CHECK(sys::nvidia_vfio::placement_param(params) == placement,
               "a placement does not read back: " + params);
  }
  return 0;
}
