#include "core/result.hpp"

namespace ferry {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::bad_request: return "bad_request";
    case ErrorCode::unauthorized: return "unauthorized";
    case ErrorCode::forbidden: return "forbidden";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::conflict: return "conflict";
    case ErrorCode::payload_too_large: return "payload_too_large";
    case ErrorCode::unprocessable: return "unprocessable";
    case ErrorCode::schema_violation: return "schema_violation";
    case ErrorCode::unknown_event_type: return "unknown_event_type";
    case ErrorCode::too_many_requests: return "too_many_requests";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::internal: return "internal";
  }
  return "internal";
}

}  // namespace ferry
