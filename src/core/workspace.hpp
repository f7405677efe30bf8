#pragma once

#include <string>

#include "core/clock.hpp"

namespace ferry {

// A tenant: endpoints, messages and API keys belong to exactly one.
// "__org__" is a valid id (the organisation-wide workspace of some products).
struct Workspace {
  std::string id;
  std::string name;
  // The catalog whose event types this workspace publishes; "" for none
  // (then any well-formed type name is accepted and nothing is validated).
  std::string catalog;
  // The wire profile of its endpoints that do not name one; "" for the
  // default, Standard Webhooks.
  std::string profile;
  // Whether publishes are checked against their type's JSON Schema.
  bool validate_payloads = true;
  // A sandbox: every message published here is marked as a test.
  bool test_mode = false;
  UnixMillis created_at_ms = 0;
  UnixMillis updated_at_ms = 0;
};

}  // namespace ferry
