#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"

namespace ferry {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// One HTTP try of a delivery: what was sent and what came back, or the
// transport error by name ("timeout", "refused", "dns", "tls",
// "refused_target", "connection", "other").
struct Attempt {
  std::string id;
  std::string workspace_id;
  std::string delivery_id;
  std::string message_id;
  std::string endpoint_id;
  int attempt_number = 1;
  UnixMillis started_at_ms = 0;
  std::int64_t latency_us = 0;
  std::string url;
  HeaderList request_headers;
  std::optional<int> response_status;  // absent when no response arrived
  HeaderList response_headers;
  std::string response_body;  // bounded
  std::string error;          // empty when a response arrived
  std::string error_detail;   // human-readable detail of error
};

}  // namespace ferry
