// Strict reading of JSON documents with precise error paths, shared by the catalog and host
// description parsers. Internal to libvgpu.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "vgpu/error.hpp"
#include "vgpu/model/text.hpp"

// Evaluates a Result-returning expression; on error returns the error from the enclosing
// function, else binds the value to `var`.
#define VGPU_TRY(var, expr)                       \
  auto var##_result = (expr);                     \
  if (!var##_result) return var##_result.error(); \
  auto var = std::move(*var##_result)

namespace vgpu::json_reader {

using json = nlohmann::json;

// "origin: path: message" (path omitted when empty).
inline Error error_at(std::string_view origin, const std::string& path, const std::string& message,
                      Errc code = Errc::invalid_argument) {
  std::string text(origin);
  if (!path.empty()) text += ": " + path;
  return Error(code, text + ": " + message);
}

// Parses @p text, turning nlohmann's exception into an error naming line and column.
inline Result<json> parse(std::string_view text, std::string_view origin) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what.erase(0, p + 2);
    return error_at(origin, "", "not valid JSON: " + detail::escape_bytes(what));
  }
}

inline std::string type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a fractional number";
    default:
      return "an unsupported value";
  }
}

// Reads the members of one JSON object, refusing unknown keys so typos are caught.
class ObjectReader {
 public:
  static Result<ObjectReader> open(const json& value, std::string path, std::string_view origin,
                                   std::initializer_list<std::string_view> allowed) {
    if (!value.is_object())
      return error_at(origin, path, "must be an object, not " + type_name(value));
    for (const auto& [key, unused] : value.items()) {
      bool known = false;
      for (auto a : allowed)
        known = known || key == a;
      if (!known) {
        std::string list;
        for (auto a : allowed)
          list += (list.empty() ? "" : ", ") + std::string(a);
        // A key is any JSON string, DEL and escaped control characters included, which the
        // message must not carry raw.
        const std::string shown = detail::printable(key);
        return error_at(origin, path.empty() ? shown : path + "." + shown,
                        "unknown key; expected one of: " + list);
      }
    }
    return ObjectReader(value, std::move(path), origin);
  }

  [[nodiscard]] std::string path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  [[nodiscard]] Error error(std::string_view key, const std::string& message) const {
    return error_at(origin_, path(key), message);
  }
  [[nodiscard]] bool has(std::string_view key) const { return value_.contains(key); }
  [[nodiscard]] const json& raw(std::string_view key) const { return value_.at(std::string(key)); }
  [[nodiscard]] std::string_view origin() const { return origin_; }

  Result<std::string> string(std::string_view key) const {
    if (!has(key)) return error(key, "is required");
    return string_value(raw(key), path(key));
  }
  Result<std::optional<std::string>> optional_string(std::string_view key) const {
    if (!has(key)) return std::optional<std::string>{};
    auto s = string(key);
    if (!s) return s.error();
    return std::optional<std::string>(std::move(*s));
  }
  Result<std::uint64_t> uint(std::string_view key,
                             std::uint64_t max = std::numeric_limits<std::uint32_t>::max()) const {
    if (!has(key)) return error(key, "is required");
    return uint_value(raw(key), path(key), max);
  }
  Result<std::optional<std::uint64_t>> optional_uint(
      std::string_view key, std::uint64_t max = std::numeric_limits<std::uint32_t>::max()) const {
    if (!has(key)) return std::optional<std::uint64_t>{};
    auto v = uint(key, max);
    if (!v) return v.error();
    return std::optional<std::uint64_t>(*v);
  }
  Result<bool> boolean(std::string_view key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!raw(key).is_boolean())
      return error(key, "must be true or false, not " + type_name(raw(key)));
    return raw(key).get<bool>();
  }
  Result<const json*> array(std::string_view key, bool required) const {
    static const json empty = json::array();
    if (!has(key)) {
      if (required) return error(key, "is required");
      return &empty;
    }
    if (!raw(key).is_array()) return error(key, "must be an array, not " + type_name(raw(key)));
    return &raw(key);
  }

  Result<std::string> string_value(const json& v, const std::string& at) const {
    if (!v.is_string()) return error_at(origin_, at, "must be a string, not " + type_name(v));
    return v.get<std::string>();
  }
  Result<std::uint64_t> uint_value(const json& v, const std::string& at, std::uint64_t max) const {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
      if (v.is_number_integer()) return error_at(origin_, at, "must not be negative");
      return error_at(origin_, at, "must be a whole number, not " + type_name(v));
    }
    const auto n = v.get<std::uint64_t>();
    if (n > max)
      return error_at(origin_, at,
                      std::to_string(n) + " is too large (max " + std::to_string(max) + ")");
    return n;
  }

 private:
  ObjectReader(const json& value, std::string path, std::string_view origin)
      : value_(value), path_(std::move(path)), origin_(origin) {}
  const json& value_;
  std::string path_;
  std::string origin_;
};

}  // namespace vgpu::json_reader
