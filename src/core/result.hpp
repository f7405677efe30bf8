#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ferry {

// What went wrong, in terms a caller can act on. Each code maps to exactly one
// HTTP status at the API edge (see api/error_response.hpp).
enum class ErrorCode {
  bad_request,         // 400: malformed input
  unauthorized,        // 401: no or unknown credentials
  forbidden,           // 403: known credentials, not allowed
  not_found,           // 404: no such thing, or not visible to the caller
  conflict,            // 409: clashes with existing state
  payload_too_large,   // 413
  unprocessable,       // 422: well-formed but semantically invalid
  schema_violation,    // 422: a payload that its event type's JSON Schema refuses
  unknown_event_type,  // 422: a type the workspace's catalog does not list (or has archived)
  too_many_requests,   // 429
  unavailable,         // 503: a dependency (disk, database) failed; retry later
  internal,            // 500: a bug
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  // Where in the input it went wrong (a JSON Pointer such as
  // "/customer/email"), when that is known.
  std::string path;
};

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message), {}}; }

// A value or an Error: errors cross component boundaries as values, never as
// exceptions. Small on purpose; the shape follows std::expected so it can be
// swapped for it once the toolchain is C++23.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace ferry
