/// @file
/// @brief Small text helpers shared by the model's parsers (not part of the stable API).
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace vgpu::detail {

/// Parses all of @p text as an unsigned integer in @p base; nullopt on any stray character,
/// sign, empty input or overflow.
template <class T>
std::optional<T> parse_unsigned(std::string_view text, int base = 10) {
  T value{};
  if (text.empty() || text.front() == '+' || text.front() == '-') return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

/// ASCII lower-case copy of @p text.
inline std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// Copy of @p text with control bytes and bytes >= 0x80 written as \xNN, so a message built
/// from untrusted input stays one line of printable ASCII.
inline std::string escape_bytes(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

/// @p text for an error message: control bytes (and DEL) as \xNN, so messages stay on one
/// line whatever the input holds, and cut after 80 bytes ("...").
inline std::string printable(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text.substr(0, 80)) {
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > 80) out += "...";
  return out;
}

/// printable() in single quotes.
inline std::string quoted(std::string_view text) {
  return "'" + printable(text) + "'";
}

/// "0 4 8": numbers separated by spaces, as placement lists are printed.
inline std::string join_numbers(const std::vector<std::uint32_t>& values) {
  std::string out;
  for (auto v : values)
    out += (out.empty() ? "" : " ") + std::to_string(v);
  return out;
}

}  // namespace vgpu::detail
