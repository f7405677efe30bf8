#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/attempt.hpp"

namespace ferry {

// One HTTP POST to a subscriber.
struct OutgoingRequest {
  std::string url;
  HeaderList headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{15000};
  std::size_t max_response_body = 64 * 1024;  // bytes kept of the response body; the rest is read and dropped
};

// What came back: a response, or a transport error by name.
struct TransportResponse {
  std::optional<int> status;
  HeaderList headers;  // response headers, names lowercased
  std::string body;    // at most max_response_body bytes
  // Empty when a response arrived. Otherwise one of: "timeout", "refused"
  // (connection refused), "dns", "tls", "refused_target" (address not
  // allowed), "connection" (reset, closed, protocol error), "other".
  std::string error;
  std::string error_detail;
  std::int64_t latency_us = 0;
};

// Sends requests asynchronously. Implementations never follow redirects.
class Transport {
 public:
  using Callback = std::function<void(TransportResponse)>;
  virtual ~Transport() = default;
  // Queues the request; `on_done` runs exactly once, on a transport thread.
  // Safe for concurrent use.
  virtual void send(OutgoingRequest request, Callback on_done) = 0;
  // Stops accepting work, lets in-flight requests finish for up to `grace`,
  // fails the rest with error "other" ("shutdown"), and joins its threads.
  virtual void shutdown(std::chrono::milliseconds grace) = 0;
};

}  // namespace ferry
