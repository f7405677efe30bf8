#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry {

// Error codes written by the HTTP layer itself rather than from an ErrorCode
// (core/result.hpp): the Error schema of the OpenAPI document lists both.
inline constexpr std::string_view kMethodNotAllowedCode = "method_not_allowed";  // 405
inline constexpr std::string_view kRateLimitedCode = "rate_limited";             // 429
inline constexpr std::string_view kHeadersTooLargeCode = "headers_too_large";    // 431

// A request as the router sees it: no sockets, so handlers run in unit tests.
struct HttpRequest {
  std::string method;                                        // "GET", "POST", ...
  std::string path;                                          // without the query string, not percent-decoded
  std::string query;                                         // after '?', empty if none
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string remote_address;

  // The first header of that (lowercase) name, if present.
  std::optional<std::string_view> header(std::string_view lowercase_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lowercase_name) return std::string_view(value);
    }
    return std::nullopt;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Called exactly once per request, from any thread.
using HttpRespond = std::function<void(HttpResponse)>;

// Turns a request into a response, possibly later (after a commit, say).
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual void handle(HttpRequest request, HttpRespond respond) = 0;
};

}  // namespace ferry
