#include "catalog/catalog_file.hpp"

#include <nlohmann/json.hpp>

#include <set>

#include "catalog/payload_schema.hpp"
#include "core/event_type_name.hpp"

namespace ferry {

namespace {

// Ordered: examples keep their members in the order the catalog gives them
// (the references' order), as Send Test Event sends them.
using json = nlohmann::ordered_json;

Error invalid(const std::string& where, const std::string& what) {
  return make_error(ErrorCode::unprocessable, where.empty() ? what : where + ": " + what);
}

Status only_keys(const json& object, std::initializer_list<std::string_view> allowed, const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (auto name : allowed) known = known || key == name;
    if (!known) return invalid(where, "unknown key \"" + key + "\"");
  }
  return {};
}

// A string member; absent gives `fallback` unless `required`.
Result<std::string> text(const json& object, const char* key, const std::string& where, bool required,
                         std::string fallback = "") {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) return invalid(where, std::string("\"") + key + "\" is required");
    return fallback;
  }
  if (!it->is_string()) return invalid(where, std::string("\"") + key + "\" must be a string");
  return it->get<std::string>();
}

Result<std::vector<std::string>> texts(const json& object, const char* key, const std::string& where) {
  std::vector<std::string> values;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return values;
  if (!it->is_array()) return invalid(where, std::string("\"") + key + "\" must be an array of strings");
  for (const auto& value : *it) {
    if (!value.is_string()) return invalid(where, std::string("\"") + key + "\" must be an array of strings");
    values.push_back(value.get<std::string>());
  }
  return values;
}

Result<bool> flag(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return false;
  if (!it->is_boolean()) return invalid(where, std::string("\"") + key + "\" must be true or false");
  return it->get<bool>();
}

Result<CatalogAlias> read_alias(const json& object, const std::string& where) {
  if (!object.is_object()) return invalid(where, "an alias must be an object");
  if (auto keys = only_keys(object, {"name", "dotted_variants", "type_field", "outbound", "variant_field"}, where);
      !keys) {
    return keys.error();
  }
  CatalogAlias alias;
  auto name = text(object, "name", where, true);
  if (!name) return name.error();
  if (!is_valid_event_type_name(*name)) return invalid(where, "\"name\" must be a dotted event type name");
  alias.name = std::move(*name);
  auto dotted = flag(object, "dotted_variants", where);
  if (!dotted) return dotted.error();
  alias.dotted_variants = *dotted;
  auto type_field = text(object, "type_field", where, true);
  if (!type_field) return type_field.error();
  alias.type_field = std::move(*type_field);
  auto outbound = text(object, "outbound", where, true);
  if (!outbound) return outbound.error();
  alias.outbound = std::move(*outbound);
  const std::string placeholder = "{" + alias.type_field + "}";
  if (alias.outbound.find(placeholder) == std::string::npos) {
    return invalid(where, "\"outbound\" must contain " + placeholder);
  }
  std::string sample = alias.outbound;
  sample.replace(sample.find(placeholder), placeholder.size(), "x");
  if (!is_valid_event_type_name(sample)) return invalid(where, "\"outbound\" must make a dotted event type name");
  auto variant_field = text(object, "variant_field", where, false);
  if (!variant_field) return variant_field.error();
  alias.variant_field = std::move(*variant_field);
  return alias;
}

// Reads the settings part (everything but event_types) of a catalog object.
Result<CatalogSettings> read_settings(const json& root, const ProfileExists* profile_exists) {
  CatalogSettings settings;
  auto name = text(root, "catalog", "", true);
  if (!name) return name.error();
  if (!is_valid_catalog_name(*name)) {
    return invalid("", "\"catalog\" must be 1 to 64 lowercase letters, digits, '-' or '_'");
  }
  settings.name = std::move(*name);
  for (auto [key, target] : {std::pair{"title", &settings.title}, std::pair{"description", &settings.description},
                             std::pair{"reference", &settings.reference}, std::pair{"profile", &settings.profile}}) {
    auto value = text(root, key, "", false);
    if (!value) return value.error();
    *target = std::move(*value);
  }
  if (settings.title.empty()) settings.title = settings.name;
  if (profile_exists != nullptr && !settings.profile.empty() && !(*profile_exists)(settings.profile)) {
    return invalid("", "\"profile\": no wire profile is named \"" + settings.profile + "\" (GET /api/v1/profiles)");
  }
  auto stamp = flag(root, "stamp_workspace_id", "");
  if (!stamp) return stamp.error();
  settings.stamp_workspace_id = *stamp;
  auto decisions = texts(root, "decisions", "");
  if (!decisions) return decisions.error();
  settings.decisions = std::move(*decisions);
  if (auto it = root.find("aliases"); it != root.end() && !it->is_null()) {
    if (!it->is_array()) return invalid("", "\"aliases\" must be an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      auto alias = read_alias((*it)[i], "aliases[" + std::to_string(i) + "]");
      if (!alias) return alias.error();
      settings.aliases.push_back(std::move(*alias));
    }
  }
  if (auto it = root.find("type_decisions"); it != root.end() && !it->is_null()) {
    if (!it->is_object()) return invalid("", "\"type_decisions\" must be an object");
    for (const auto& [type, decision] : it->items()) {
      if (!decision.is_string()) return invalid("type_decisions", "values must be strings");
      settings.type_decisions[type] = decision.get<std::string>();
    }
  }
  return settings;
}

Result<EventType> read_event_type(const json& object, const std::string& where_index, std::string* decision) {
  if (!object.is_object()) return invalid(where_index, "an event type must be an object");
  auto name = text(object, "name", where_index, true);
  if (!name) return name.error();
  const std::string where = where_index + " (" + *name + ")";
  if (auto keys = only_keys(object, {"name", "group", "description", "flags", "schema", "examples", "decision"}, where);
      !keys) {
    return keys.error();
  }
  if (!is_valid_event_type_name(*name)) return invalid(where, "\"name\" must be a dotted event type name");
  EventType type;
  type.name = std::move(*name);
  auto group = text(object, "group", where, false, type.name.substr(0, type.name.find('.')));
  if (!group) return group.error();
  type.group = std::move(*group);
  auto description = text(object, "description", where, false);
  if (!description) return description.error();
  type.description = std::move(*description);
  auto flags = texts(object, "flags", where);
  if (!flags) return flags.error();
  for (const auto& value : *flags) {
    if (!is_valid_event_flag(value))
      return invalid(where, "flag \"" + value + "\" must be letters, digits, '-' or '_'");
  }
  type.flags = std::move(*flags);
  auto noted = text(object, "decision", where, false);
  if (!noted) return noted.error();
  *decision = std::move(*noted);

  std::shared_ptr<const PayloadSchema> schema;
  if (auto it = object.find("schema"); it != object.end() && !it->is_null()) {
    auto compiled = PayloadSchema::compile_text(it->dump());
    if (!compiled) return invalid(where + ".schema", compiled.error().message);
    schema = *compiled;
    type.schema_json = it->dump();
  }
  auto examples = object.find("examples");
  if (examples == object.end() || !examples->is_array() || examples->empty()) {
    return invalid(where, "\"examples\" must be an array of at least one example payload");
  }
  for (std::size_t i = 0; i < examples->size(); ++i) {
    const json& example = (*examples)[i];
    if (schema) {
      if (auto checked = schema->check(nlohmann::json::parse(example.dump())); !checked) {
        return invalid(where + ".examples[" + std::to_string(i) + "]", checked.error().message);
      }
    }
    type.examples_json.push_back(example.dump());
  }
  return type;
}

}  // namespace

bool is_valid_catalog_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<CatalogFile> parse_catalog_file(std::string_view text_json, const ProfileExists& profile_exists) {
  auto root = json::parse(text_json, nullptr, false);
  if (root.is_discarded()) return invalid("", "the catalog is not valid JSON");
  if (!root.is_object()) return invalid("", "a catalog must be a JSON object");
  if (auto keys = only_keys(root,
                            {"catalog", "title", "description", "reference", "profile", "stamp_workspace_id", "aliases",
                             "decisions", "event_types"},
                            "");
      !keys) {
    return keys.error();
  }
  auto settings = read_settings(root, &profile_exists);
  if (!settings) return settings.error();
  CatalogFile file;
  file.settings = std::move(*settings);
  auto types = root.find("event_types");
  if (types == root.end() || !types->is_array() || types->empty()) {
    return invalid("", "\"event_types\" must be an array of at least one event type");
  }
  std::set<std::string, std::less<>> names;
  for (std::size_t i = 0; i < types->size(); ++i) {
    std::string decision;
    auto type = read_event_type((*types)[i], "event_types[" + std::to_string(i) + "]", &decision);
    if (!type) return type.error();
    if (!names.insert(type->name).second) {
      return invalid("event_types[" + std::to_string(i) + "]", "\"" + type->name + "\" is listed twice");
    }
    type->catalog = file.settings.name;
    if (!decision.empty()) file.settings.type_decisions[type->name] = std::move(decision);
    file.event_types.push_back(std::move(*type));
  }
  for (std::size_t i = 0; i < file.settings.aliases.size(); ++i) {
    if (names.contains(file.settings.aliases[i].name)) {
      return invalid("aliases[" + std::to_string(i) + "]",
                     "\"" + file.settings.aliases[i].name + "\" is an event type of this catalog too");
    }
  }
  return file;
}

std::string catalog_settings_to_json(const CatalogSettings& settings) {
  json aliases = json::array();
  for (const auto& alias : settings.aliases) {
    json entry = {{"name", alias.name},
                  {"dotted_variants", alias.dotted_variants},
                  {"type_field", alias.type_field},
                  {"outbound", alias.outbound}};
    if (!alias.variant_field.empty()) entry["variant_field"] = alias.variant_field;
    aliases.push_back(std::move(entry));
  }
  json type_decisions = json::object();
  for (const auto& [type, decision] : settings.type_decisions) type_decisions[type] = decision;
  json document = {{"catalog", settings.name},
                   {"title", settings.title},
                   {"description", settings.description},
                   {"reference", settings.reference},
                   {"profile", settings.profile},
                   {"stamp_workspace_id", settings.stamp_workspace_id},
                   {"aliases", std::move(aliases)},
                   {"decisions", settings.decisions},
                   {"type_decisions", std::move(type_decisions)}};
  return document.dump();
}

Result<CatalogSettings> parse_catalog_settings(std::string_view text_json) {
  auto root = json::parse(text_json, nullptr, false);
  if (root.is_discarded() || !root.is_object()) return invalid("", "the stored catalog document is not a JSON object");
  return read_settings(root, nullptr);
}

bool alias_applies(const CatalogAlias& alias, std::string_view type, std::string* variant) {
  if (type == alias.name) {
    variant->clear();
    return true;
  }
  if (alias.dotted_variants && type.size() > alias.name.size() + 1 && type.starts_with(alias.name) &&
      type[alias.name.size()] == '.') {
    *variant = std::string(type.substr(alias.name.size() + 1));
    return true;
  }
  return false;
}

}  // namespace ferry
