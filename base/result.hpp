#pragma once
// Result<T>: a value or an error message, for functions that read external input.
// The message is complete and user-facing (it names the thing that was wrong).

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace hivesim {

struct Error {
  std::string message;
};

/// Success, or what went wrong: for operations that produce nothing but can fail.
using Status = std::optional<Error>;

template <class T>
class Result {
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
