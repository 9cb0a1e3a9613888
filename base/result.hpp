#pragma once
// Result<T>: a value or an error message, for functions that read external input; Status: the
// same without a value. The message is complete and user-facing (it names the thing that was
// wrong). Both are [[nodiscard]]: a caller handles the error or passes it on.

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace hivesim {

struct Error {
  std::string message;
};

/// Success, or what went wrong: for operations that produce nothing but can fail. Read it as a
/// Result: ok() is success, error() the message. (No conversion to bool: it once was an optional
/// error, true on failure, the opposite of Result; callers say `if (!st.ok())`.)
class [[nodiscard]] Status {
 public:
  Status() = default;                                // success
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  bool ok() const { return !error_.has_value(); }
  const std::string& error() const { return error_->message; }
  /// The error, moved out (for returning it as a Result's); precondition: !ok().
  Error take_error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const std::string& error() const { return std::get<1>(v_).message; }

 private:
  std::variant<T, Error> v_;
};

}  // namespace hivesim
