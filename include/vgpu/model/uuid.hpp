/// @file
/// @brief vgpu::Uuid: RFC 4122 UUIDs, as mdev devices and VMs are named.
#pragma once

#include <unistd.h>

#include <array>
#include <compare>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "vgpu/error.hpp"
#include "vgpu/model/text.hpp"

namespace vgpu {

/// A 128-bit UUID, formatted as 8-4-4-4-12 lower-case hex digits.
class Uuid {
 public:
  /// The nil UUID (all zero).
  constexpr Uuid() = default;

  /// Builds a UUID from its 16 bytes in network order.
  explicit constexpr Uuid(const std::array<std::uint8_t, 16>& bytes) : bytes_(bytes) {}

  /// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (either case). Braces, "urn:uuid:" prefixes
  /// and missing hyphens are refused so that a UUID has exactly one spelling on the wire.
  static Result<Uuid> parse(std::string_view text) {
    auto bad = [&](std::string_view why) {
      return fail(Errc::invalid_argument, "invalid UUID " + detail::quoted(text) + ": " +
                                              std::string(why) +
                                              " (expected 8-4-4-4-12 hex digits, e.g. "
                                              "3b8e3a62-6a4c-4b8e-9a3e-2f1d5c7b9e01)");
    };
    if (text.size() != 36) return bad("it must be 36 characters long");
    Uuid u;
    std::size_t byte = 0;
    for (std::size_t i = 0; i < 36;) {
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        if (text[i] != '-') return bad("hyphens must follow hex digits 8, 12, 16 and 20");
        ++i;
        continue;
      }
      int hi = hex_value(text[i]);
      int lo = hex_value(text[i + 1]);
      if (hi < 0 || lo < 0) return bad("it holds a character that is not a hex digit");
      u.bytes_[byte++] = static_cast<std::uint8_t>(hi * 16 + lo);
      i += 2;
    }
    return u;
  }

  /// A new random (version 4, RFC 4122 variant) UUID from a generator seeded by
  /// std::random_device per thread, and again in a forked child (which would otherwise draw
  /// the same UUIDs as its parent).
  static Uuid generate() {
    struct Source {
      std::mt19937_64 engine;
      long pid = -1;
    };
    static thread_local Source source;
    if (const long pid = static_cast<long>(::getpid()); pid != source.pid) {
      std::random_device rd;
      std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
      source.engine.seed(seq);
      source.pid = pid;
    }
    auto& engine = source.engine;
    Uuid u;
    for (std::size_t i = 0; i < 16; i += 8) {
      std::uint64_t r = engine();
      for (std::size_t j = 0; j < 8; ++j)
        u.bytes_[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
    }
    u.bytes_[6] = static_cast<std::uint8_t>((u.bytes_[6] & 0x0f) | 0x40);
    u.bytes_[8] = static_cast<std::uint8_t>((u.bytes_[8] & 0x3f) | 0x80);
    return u;
  }

  /// The canonical lower-case text form; parse(to_string()) round-trips.
  [[nodiscard]] std::string to_string() const {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
      out += hex[bytes_[i] >> 4];
      out += hex[bytes_[i] & 0xf];
    }
    return out;
  }

  /// The 16 bytes in network order.
  [[nodiscard]] constexpr const std::array<std::uint8_t, 16>& bytes() const noexcept {
    return bytes_;
  }
  /// True for the all-zero UUID.
  [[nodiscard]] constexpr bool is_nil() const noexcept {
    return bytes_ == std::array<std::uint8_t, 16>{};
  }

  /// UUIDs order bytewise.
  constexpr auto operator<=>(const Uuid&) const = default;

 private:
  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  std::array<std::uint8_t, 16> bytes_{};
};

}  // namespace vgpu
