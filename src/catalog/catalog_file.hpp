#pragma once

// A catalog: the event types one product publishes, read from a JSON file
// (catalogs/*.json, documented in docs/catalogs.md) or an API request body.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/event_type.hpp"
#include "core/result.hpp"

namespace ferry {

// An internal name a producer may publish, and the outbound type it becomes:
// "channel_delivery_status" with {"status":"delivered"} goes out as
// "delivery.delivered".
struct CatalogAlias {
  std::string name;
  bool dotted_variants = false;  // "<name>.<variant>" is accepted too
  std::string type_field;        // the payload field whose value fills the placeholder
  std::string outbound;          // "delivery.{status}": {<type_field>} is replaced
  std::string variant_field;     // filled from a dotted variant's suffix when the payload lacks it
};

// Everything of a catalog but its event types.
struct CatalogSettings {
  std::string name;
  std::string title;
  std::string description;
  std::string reference;
  std::string profile;  // the wire profile of its workspaces' endpoints by default
  bool stamp_workspace_id = false;
  std::vector<CatalogAlias> aliases;
  std::vector<std::string> decisions;
  std::map<std::string, std::string, std::less<>> type_decisions;  // per event type
};

struct CatalogFile {
  CatalogSettings settings;
  std::vector<EventType> event_types;  // catalog, created_at and updated_at are set by the loader
};

// Whether a wire profile of that name exists (built-in or loaded).
using ProfileExists = std::function<bool(std::string_view)>;

// Reads and checks a whole catalog: known keys only (a typo must not pass
// silently), valid names, each type's schema usable and each example valid
// against it. Errors are unprocessable and name the place ("event_types[3]
// (order.completed).examples[0]: ...").
Result<CatalogFile> parse_catalog_file(std::string_view json, const ProfileExists& profile_exists);

// The settings as stored (CatalogDocument::document_json) and back.
std::string catalog_settings_to_json(const CatalogSettings& settings);
Result<CatalogSettings> parse_catalog_settings(std::string_view json);

// What a producer publishes as `type` becomes under `alias`, if it applies:
// the alias's outbound pattern, and the dotted variant's suffix ("" if none).
bool alias_applies(const CatalogAlias& alias, std::string_view type, std::string* variant);

// A catalog name: 1 to 64 of [a-z0-9_-].
bool is_valid_catalog_name(std::string_view name);

}  // namespace ferry
