/// @file
/// @brief vgpu::Resolution: a display resolution such as "5120x2880".
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "vgpu/error.hpp"
#include "vgpu/model/text.hpp"

namespace vgpu {

/// A display resolution in pixels (width x height).
class Resolution {
 public:
  /// 0x0, "no display".
  constexpr Resolution() = default;
  /// @p width x @p height pixels.
  constexpr Resolution(std::uint32_t width, std::uint32_t height)
      : width_(width), height_(height) {}

  /// Parses "WIDTHxHEIGHT" ("x" or "X"), each 1 to 65535.
  static Result<Resolution> parse(std::string_view text) {
    auto x = text.find_first_of("xX");
    auto bad = [&] {
      return fail(Errc::invalid_argument, "invalid resolution " + detail::quoted(text) +
                                              ": expected WIDTHxHEIGHT with each 1-65535, "
                                              "e.g. 5120x2880");
    };
    if (x == std::string_view::npos) return bad();
    auto w = detail::parse_unsigned<std::uint32_t>(text.substr(0, x));
    auto h = detail::parse_unsigned<std::uint32_t>(text.substr(x + 1));
    if (!w || !h || *w == 0 || *h == 0 || *w > 65535 || *h > 65535) return bad();
    return Resolution(*w, *h);
  }

  /// Width in pixels.
  [[nodiscard]] constexpr std::uint32_t width() const noexcept { return width_; }
  /// Height in pixels.
  [[nodiscard]] constexpr std::uint32_t height() const noexcept { return height_; }
  /// width x height.
  [[nodiscard]] constexpr std::uint64_t pixels() const noexcept {
    return static_cast<std::uint64_t>(width_) * height_;
  }
  /// True when both dimensions are at least those of @p other.
  [[nodiscard]] constexpr bool covers(const Resolution& other) const noexcept {
    return width_ >= other.width_ && height_ >= other.height_;
  }
  /// "5120x2880"; parse(to_string()) round-trips for any non-zero resolution.
  [[nodiscard]] std::string to_string() const {
    return std::to_string(width_) + "x" + std::to_string(height_);
  }
  /// Resolutions compare by width, then height.
  constexpr auto operator<=>(const Resolution&) const = default;

 private:
  std::uint32_t width_ = 0;
  std::uint32_t height_ = 0;
};

}  // namespace vgpu
