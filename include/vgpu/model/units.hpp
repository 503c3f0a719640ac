/// @file
/// @brief vgpu::Bytes: framebuffer sizes, with MiB/GiB helpers.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "vgpu/error.hpp"
#include "vgpu/model/text.hpp"

namespace vgpu {

/// A size in bytes. vGPU framebuffers are whole MiB; placement slots are whole GiB.
class Bytes {
 public:
  /// Zero bytes.
  constexpr Bytes() = default;
  /// @p count bytes.
  explicit constexpr Bytes(std::uint64_t count) : count_(count) {}

  /// @p n mebibytes.
  static constexpr Bytes mib(std::uint64_t n) { return Bytes(n << 20); }
  /// @p n gibibytes.
  static constexpr Bytes gib(std::uint64_t n) { return Bytes(n << 30); }

  /// Parses a size: a number followed by an optional unit: "B", "K"/"KiB", "M"/"MiB",
  /// "G"/"GiB" (binary units; "2048M" is how mdev descriptions print framebuffers).
  static Result<Bytes> parse(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
      ++digits;
    auto number = detail::parse_unsigned<std::uint64_t>(text.substr(0, digits));
    std::string unit = detail::to_lower(text.substr(digits));
    if (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
    int shift = -1;
    if (unit.empty() || unit == "b")
      shift = 0;
    else if (unit == "k" || unit == "kib")
      shift = 10;
    else if (unit == "m" || unit == "mib")
      shift = 20;
    else if (unit == "g" || unit == "gib")
      shift = 30;
    if (!number || shift < 0 || *number > (UINT64_MAX >> shift))
      return fail(Errc::invalid_argument, "invalid size " + detail::quoted(text) +
                                              ": expected a whole number with an optional unit "
                                              "B, K, M or G (e.g. 2048M or 16G)");
    return Bytes(*number << shift);
  }

  /// The size in bytes.
  [[nodiscard]] constexpr std::uint64_t count() const noexcept { return count_; }
  /// The size in whole MiB (rounded down).
  [[nodiscard]] constexpr std::uint64_t in_mib() const noexcept { return count_ >> 20; }
  /// The number of 1-GiB slots the size covers (rounded up).
  [[nodiscard]] constexpr std::uint64_t gib_slots() const noexcept {
    return (count_ + (1ULL << 30) - 1) >> 30;
  }

  /// Human form: "16 GiB" when a whole number of GiB, else "1536 MiB", else "N B".
  [[nodiscard]] std::string to_string() const {
    if (count_ != 0 && count_ % (1ULL << 30) == 0) return std::to_string(count_ >> 30) + " GiB";
    if (count_ % (1ULL << 20) == 0) return std::to_string(count_ >> 20) + " MiB";
    return std::to_string(count_) + " B";
  }

  /// Sizes compare by byte count.
  constexpr auto operator<=>(const Bytes&) const = default;
  /// Sum of two sizes.
  constexpr Bytes operator+(Bytes other) const { return Bytes(count_ + other.count_); }
  /// Size times a count.
  constexpr Bytes operator*(std::uint64_t n) const { return Bytes(count_ * n); }

 private:
  std::uint64_t count_ = 0;
};

}  // namespace vgpu
