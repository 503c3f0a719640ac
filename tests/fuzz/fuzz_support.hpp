// Shared by the fuzz targets (tests/fuzz/*.cpp): invariant checks that stop the run with a
// message libFuzzer (or the replay driver) reports as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "vgpu/error.hpp"

namespace vgpu::fuzz {

[[noreturn]] inline void violated(const char* file, int line, const char* what,
                                  const std::string& detail) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s\n%s\n", file, line, what, detail.c_str());
  std::abort();
}

// The input as text.
inline std::string_view text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// What every error the library returns for bad input must be: a code other than ok, a
// message, and no raw control bytes (messages are safe to log; docs/error-handling.md).
// @p multi_line allows '\n' (placement refusals list reasons one per line).
inline std::string bad_error(const Error& e, bool multi_line = false) {
  if (e.code() == Errc::ok) return "error with code ok: " + e.message();
  if (e.message().empty()) return "error without a message";
  for (unsigned char c : e.message())
    if ((c < 0x20 && !(multi_line && c == '\n')) || c == 0x7f)
      return "raw control byte in the message: " + e.message();
  return {};
}

// True when @p s is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code
// points above U+10FFFF), as JSON text must be.
inline bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

}  // namespace vgpu::fuzz

// Stops the run when @p cond is false; @p detail (a std::string expression) says more.
#define FUZZ_CHECK(cond, detail)                                              \
  do {                                                                        \
    if (!(cond)) ::vgpu::fuzz::violated(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

// Stops the run when the error @p e breaks the rules for errors (see bad_error()).
#define FUZZ_CHECK_ERROR(e, ...)                                                          \
  do {                                                                                    \
    const std::string fuzz_bad_ = ::vgpu::fuzz::bad_error((e)__VA_OPT__(, ) __VA_ARGS__); \
    if (!fuzz_bad_.empty()) ::vgpu::fuzz::violated(__FILE__, __LINE__, #e, fuzz_bad_);    \
  } while (0)
