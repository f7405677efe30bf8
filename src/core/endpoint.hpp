#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"

namespace ferry {

// A subscriber's URL in a workspace.
struct Endpoint {
  std::string id;
  std::string workspace_id;
  std::string url;
  std::string description;
  // Signing secrets, newest first. Every request is signed with each of them
  // so receivers keep verifying while a secret is rotated.
  std::vector<std::string> secrets;
  // Event type filter: exact names, "group.*" wildcards or "*". Empty means "*".
  std::vector<std::string> filter_types;
  // The wire profile its requests go out in; "" follows the workspace's.
  std::string profile;
  std::vector<std::pair<std::string, std::string>> headers;  // custom request headers
  std::optional<int> rate_limit;                             // requests per second, if capped
  bool enabled = true;
  std::string disabled_reason;  // why the endpoint was disabled, if it was
  UnixMillis created_at_ms = 0;
  UnixMillis updated_at_ms = 0;
};

}  // namespace ferry
