/// @file
/// @brief The C++ error model: vgpu::Errc, vgpu::Error and vgpu::Result<T>.
///
/// Functions that can fail in normal operation (bad input, no capacity, a busy device) return
/// a Result<T>; they do not throw. See docs/error-handling.md.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace vgpu {

/// Stable error codes. The numeric values are part of the API and never change meaning.
enum class Errc : int {
  ok = 0,                 ///< No error.
  invalid_argument = 1,   ///< An input (text, file, argument) is malformed or out of range.
  not_found = 2,          ///< A named GPU, type, vGPU or file does not exist.
  no_capacity = 3,        ///< The request is valid but no GPU can host it now.
  busy = 4,               ///< The object is in use (e.g. a VM holds the device).
  not_supported = 5,      ///< The GPU, mode or backend cannot do this at all.
  permission_denied = 6,  ///< The OS refused access (root or the vfio group is needed).
  version_mismatch = 7,   ///< A file or plug-in has a format version this build cannot use.
  conflict = 8,           ///< The request conflicts with existing state (duplicate name, uuid).
  io_error = 9,           ///< Reading or writing a file or device failed.
  internal = 10,          ///< A bug in vgpu: please report it.
};

/// A short stable name for a code, e.g. "no_capacity".
constexpr std::string_view to_string(Errc code) noexcept {
  switch (code) {
    case Errc::ok:
      return "ok";
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::no_capacity:
      return "no_capacity";
    case Errc::busy:
      return "busy";
    case Errc::not_supported:
      return "not_supported";
    case Errc::permission_denied:
      return "permission_denied";
    case Errc::version_mismatch:
      return "version_mismatch";
    case Errc::conflict:
      return "conflict";
    case Errc::io_error:
      return "io_error";
    case Errc::internal:
      return "internal";
  }
  return "unknown";
}

/// An error: a stable code, a message that says what is wrong and what to do, and the OS
/// errno when a system call was involved (0 otherwise).
class Error {
 public:
  /// Creates an error with @p code, @p message and optional @p os_errno.
  Error(Errc code, std::string message, int os_errno = 0)
      : code_(code), message_(std::move(message)), os_errno_(os_errno) {}

  /// The stable code.
  [[nodiscard]] Errc code() const noexcept { return code_; }
  /// The human-readable message (one or more sentences, no trailing newline).
  [[nodiscard]] const std::string& message() const noexcept { return message_; }
  /// The OS errno behind the error, or 0.
  [[nodiscard]] int os_errno() const noexcept { return os_errno_; }

  /// Returns a copy whose message is prefixed by @p context and ": ".
  [[nodiscard]] Error with_context(std::string_view context) const {
    return Error(code_, std::string(context) + ": " + message_, os_errno_);
  }

 private:
  Errc code_;
  std::string message_;
  int os_errno_;
};

/// Either a value of type T or an Error (like C++23 std::expected<T, Error>).
///
/// Accessing value() on an error, or error() on a value, is a programming error and aborts.
template <class T>
class [[nodiscard]] Result {
 public:
  /// A successful result holding @p value.
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  /// A failed result holding @p error.
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  /// True when the result holds a value.
  [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
  /// Same as has_value().
  explicit operator bool() const noexcept { return has_value(); }

  /// The value; aborts if the result holds an error.
  T& value() & { return check_value(), std::get<0>(state_); }
  /// The value; aborts if the result holds an error.
  const T& value() const& { return check_value(), std::get<0>(state_); }
  /// The value, moved out of a temporary result; aborts if the result holds an error.
  /// Returned by value so `for (auto& x : *make_list())` cannot dangle.
  T value() && { return check_value(), std::move(std::get<0>(state_)); }
  /// The error; aborts if the result holds a value.
  [[nodiscard]] const Error& error() const {
    if (state_.index() != 1) std::abort();
    return std::get<1>(state_);
  }

  /// Dereferences the value.
  T& operator*() & { return value(); }
  /// Dereferences the value.
  const T& operator*() const& { return value(); }
  /// Moves the value out of a temporary result (by value, so it cannot dangle).
  T operator*() && { return std::move(*this).value(); }
  /// Member access on the value.
  T* operator->() { return &value(); }
  /// Member access on the value.
  const T* operator->() const { return &value(); }

 private:
  void check_value() const {
    if (state_.index() != 0) std::abort();
  }
  std::variant<T, Error> state_;
};

/// Result of an operation that produces no value: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  /// A successful result.
  Result() = default;
  /// A failed result holding @p error.
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT: implicit

  /// True on success.
  [[nodiscard]] bool has_value() const noexcept { return !failed_; }
  /// Same as has_value().
  explicit operator bool() const noexcept { return !failed_; }
  /// The error; aborts on success.
  [[nodiscard]] const Error& error() const {
    if (!failed_) std::abort();
    return error_;
  }

 private:
  Error error_{Errc::ok, {}};
  bool failed_ = false;
};

/// Shorthand for building a failed Result: `return fail(Errc::not_found, "...")`.
inline Error fail(Errc code, std::string message, int os_errno = 0) {
  return Error(code, std::move(message), os_errno);
}

}  // namespace vgpu
