// Uuid::parse() on arbitrary text. Invariants: it accepts exactly 8-4-4-4-12 hex digits
// (either case), errors follow the rules, and to_string() is the input in lower case.
#include <string>

#include "fuzz_support.hpp"
#include "vgpu/model/uuid.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vgpu;
  const std::string_view input = fuzz::text(data, size);
  bool documented = input.size() == 36;
  for (std::size_t i = 0; documented && i < 36; ++i) {
    const char c = input[i];
    const bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
    documented = hyphen
                     ? c == '-'
                     : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
  auto u = Uuid::parse(input);
  FUZZ_CHECK(u.has_value() == documented,
             std::string(u ? "accepted" : "refused") + " '" + std::string(input) + "'");
  if (!u) {
    FUZZ_CHECK_ERROR(u.error());
    FUZZ_CHECK(u.error().code() == Errc::invalid_argument, u.error().message());
    return 0;
  }
  FUZZ_CHECK(u->to_string() == detail::to_lower(input),
             "to_string() is not the input: " + u->to_string());
  auto again = Uuid::parse(u->to_string());
  FUZZ_CHECK(again && *again == *u, "to_string() does not parse back");
  return 0;
}
