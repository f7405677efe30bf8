#pragma once

#include <string>
#include <vector>

#include "core/clock.hpp"

namespace ferry {

// A named kind of event, from a catalog or registered through the API.
struct EventType {
  std::string name;  // dotted, e.g. "delivery.opened"
  std::string group;
  std::string description;
  std::string schema_json;                 // JSON Schema of the payload, or empty
  std::vector<std::string> examples_json;  // example payloads, raw JSON
  std::vector<std::string> flags;          // e.g. "PASSIVE", "deprecated"
  bool archived = false;
  UnixMillis created_at_ms = 0;
  UnixMillis updated_at_ms = 0;
};

}  // namespace ferry
