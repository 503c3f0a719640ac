// PciAddress::parse() on arbitrary text. Invariants: it accepts exactly the documented forms
// (DDDD:BB:DD.F with a 4 to 8 hex digit domain, or BB:DD.F; device 00-1f, function 0-7),
// errors follow the rules, and to_string() parses back to the same address.
#include <string>

#include "fuzz_support.hpp"
#include "vgpu/model/pci_address.hpp"

namespace {

bool hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int value(char c) {
  return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

// The documented grammar, written independently of the parser.
bool documented(std::string_view s) {
  std::size_t domain = 0;
  while (domain < s.size() && hex(s[domain]))
    ++domain;
  if (domain < s.size() && s[domain] == ':' && s.size() - domain - 1 == 7 && domain >= 4 &&
      domain <= 8)
    s.remove_prefix(domain + 1);
  if (s.size() != 7 || s[2] != ':' || s[5] != '.') return false;
  for (std::size_t i : {0, 1, 3, 4, 6})
    if (!hex(s[i])) return false;
  return value(s[3]) * 16 + value(s[4]) <= 0x1f && value(s[6]) <= 7;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vgpu;
  const std::string_view input = fuzz::text(data, size);
  auto a = PciAddress::parse(input);
  FUZZ_CHECK(a.has_value() == documented(input),
             std::string(a ? "accepted" : "refused") + " '" + std::string(input) + "'");
  if (!a) {
    FUZZ_CHECK_ERROR(a.error());
    FUZZ_CHECK(a.error().code() == Errc::invalid_argument, a.error().message());
    return 0;
  }
  const std::string text = a->to_string();
  auto again = PciAddress::parse(text);
  FUZZ_CHECK(again && *again == *a, "to_string() does not parse back: " + text);
  FUZZ_CHECK(again->to_string() == text, "to_string() is not canonical: " + text);
  auto parts = PciAddress::from_parts(a->domain(), a->bus(), a->device(), a->function());
  FUZZ_CHECK(parts && *parts == *a, "from_parts() refuses a parsed address: " + text);
  return 0;
}
