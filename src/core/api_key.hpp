#pragma once

#include <string>

#include "core/clock.hpp"

namespace ferry {

// A per-workspace credential. Only the SHA-256 of the token is stored; the
// token itself is shown once, when the key is created.
struct ApiKey {
  std::string id;
  std::string workspace_id;
  std::string name;
  std::string token_prefix;  // the first characters of the token, to recognise it in lists
  std::string token_hash;    // lowercase hex SHA-256 of the whole token
  UnixMillis created_at_ms = 0;
};

}  // namespace ferry
