#pragma once

#include <string>

#include "core/clock.hpp"

namespace ferry {

// A tenant: endpoints, messages and API keys belong to exactly one.
// "__org__" is a valid id (the organisation-wide workspace of some products).
struct Workspace {
  std::string id;
  std::string name;
  UnixMillis created_at_ms = 0;
  UnixMillis updated_at_ms = 0;
};

}  // namespace ferry
