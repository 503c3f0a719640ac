/// @file
/// @brief vgpu::PciAddress: a PCI function address such as "0000:65:00.0".
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "vgpu/error.hpp"
#include "vgpu/model/text.hpp"

namespace vgpu {

/// A PCI function address (domain:bus:device.function), as Linux names devices in sysfs.
class PciAddress {
 public:
  /// The address 0000:00:00.0.
  constexpr PciAddress() = default;

  /// Builds an address from its parts; returns an error if device > 31 or function > 7.
  static Result<PciAddress> from_parts(std::uint32_t domain, std::uint8_t bus, std::uint8_t device,
                                       std::uint8_t function) {
    if (device > 31 || function > 7)
      return fail(Errc::invalid_argument, "PCI device must be 0-31 and function 0-7");
    PciAddress a;
    a.domain_ = domain;
    a.bus_ = bus;
    a.device_ = device;
    a.function_ = function;
    return a;
  }

  /// Parses "DDDD:BB:DD.F" (domain of 4 to 8 hex digits, as Linux prints it) or the short
  /// lspci form "BB:DD.F" (domain 0). Hex digits may be upper or lower case.
  static Result<PciAddress> parse(std::string_view text) {
    auto bad = [&](std::string_view why) {
      return fail(Errc::invalid_argument, "invalid PCI address " + detail::quoted(text) + ": " +
                                              std::string(why) +
                                              " (expected DDDD:BB:DD.F, e.g. 0000:65:00.0)");
    };
    std::string_view rest = text;
    std::uint32_t domain = 0;
    auto first = rest.find(':');
    if (first == std::string_view::npos) return bad("no ':'");
    if (rest.find(':', first + 1) != std::string_view::npos) {
      if (first < 4 || first > 8) return bad("the domain must have 4 to 8 hex digits");
      auto d = detail::parse_unsigned<std::uint32_t>(rest.substr(0, first), 16);
      if (!d) return bad("the domain is not hexadecimal");
      domain = *d;
      rest.remove_prefix(first + 1);
    }
    if (rest.size() != 7 || rest[2] != ':' || rest[5] != '.')
      return bad("bus, device and function must read BB:DD.F");
    auto bus = detail::parse_unsigned<std::uint32_t>(rest.substr(0, 2), 16);
    auto dev = detail::parse_unsigned<std::uint32_t>(rest.substr(3, 2), 16);
    auto fn = detail::parse_unsigned<std::uint32_t>(rest.substr(6, 1), 16);
    if (!bus || !dev || !fn) return bad("bus, device and function must be hexadecimal");
    if (*dev > 0x1f) return bad("the device number must be 00-1f");
    if (*fn > 7) return bad("the function number must be 0-7");
    return from_parts(domain, static_cast<std::uint8_t>(*bus), static_cast<std::uint8_t>(*dev),
                      static_cast<std::uint8_t>(*fn));
  }

  /// The canonical lower-case form, "0000:65:00.0"; parse(to_string()) round-trips.
  [[nodiscard]] std::string to_string() const {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    std::string dom;
    for (std::uint32_t d = domain_; d != 0; d >>= 4)
      dom.insert(dom.begin(), hex[d & 0xf]);
    while (dom.size() < 4)
      dom.insert(dom.begin(), '0');
    out = dom + ':';
    out += hex[bus_ >> 4];
    out += hex[bus_ & 0xf];
    out += ':';
    out += hex[device_ >> 4];
    out += hex[device_ & 0xf];
    out += '.';
    out += hex[function_];
    return out;
  }

  /// PCI domain (segment).
  [[nodiscard]] constexpr std::uint32_t domain() const noexcept { return domain_; }
  /// Bus number.
  [[nodiscard]] constexpr std::uint8_t bus() const noexcept { return bus_; }
  /// Device number (0-31).
  [[nodiscard]] constexpr std::uint8_t device() const noexcept { return device_; }
  /// Function number (0-7).
  [[nodiscard]] constexpr std::uint8_t function() const noexcept { return function_; }

  /// Addresses order by domain, bus, device, function.
  constexpr auto operator<=>(const PciAddress&) const = default;

 private:
  std::uint32_t domain_ = 0;
  std::uint8_t bus_ = 0;
  std::uint8_t device_ = 0;
  std::uint8_t function_ = 0;
};

}  // namespace vgpu
