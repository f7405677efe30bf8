#pragma once

#include <string>
#include <vector>

#include "core/clock.hpp"

namespace ferry {

// A named kind of event, from a catalog or registered through the API.
struct EventType {
  std::string catalog;  // the catalog it belongs to; "" for types registered on their own
  std::string name;     // dotted, e.g. "delivery.opened"; unique within its catalog
  std::string group;
  std::string description;
  std::string schema_json;                 // JSON Schema of the payload, or empty
  std::vector<std::string> examples_json;  // example payloads, raw JSON
  std::vector<std::string> flags;          // e.g. "PASSIVE", "deprecated"
  bool archived = false;
  UnixMillis created_at_ms = 0;
  UnixMillis updated_at_ms = 0;
};

// A catalog's own settings, as a JSON document (its file without the event
// types): title, description, default profile, aliases, decisions. The
// catalog component reads it; the store keeps it whole.
struct CatalogDocument {
  std::string name;
  std::string document_json;
  UnixMillis created_at_ms = 0;
  UnixMillis updated_at_ms = 0;
};

}  // namespace ferry
