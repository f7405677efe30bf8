#include "ingest/message_preparation.hpp"

#include <nlohmann/json.hpp>

#include "core/envelope.hpp"

namespace ferry {

namespace {

using nlohmann::json;

constexpr std::string_view kWorkspaceIdField = "workspace_id";

// Adds "name":"value" as the first member of the object whose raw bytes are
// `raw`, leaving every other byte as published.
void add_member_first(std::string& raw, std::string_view name, std::string_view value, bool object_is_empty) {
  const auto brace = raw.find('{');
  std::string member;
  append_json_string(member, name);
  member += ':';
  append_json_string(member, value);
  if (!object_is_empty) member += ',';
  raw.insert(brace + 1, member);
}

Error unprocessable(std::string message) { return make_error(ErrorCode::unprocessable, std::move(message)); }

// The payload as a JSON value, parsed once and only when something needs it.
class Payload {
 public:
  explicit Payload(std::string& raw) : raw_(raw) {}

  const json& value() {
    if (!parsed_) {
      value_ = json::parse(raw_, nullptr, false);
      parsed_ = true;
    }
    return value_;
  }
  bool is_object() { return value().is_object(); }
  void add_first(std::string_view name, const std::string& text) {
    add_member_first(raw_, name, text, value().empty());
    value_[std::string(name)] = text;
  }

 private:
  std::string& raw_;
  json value_;
  bool parsed_ = false;
};

Status apply_alias(const CatalogSettings& catalog, ParsedMessage& message, Payload& payload) {
  for (const auto& alias : catalog.aliases) {
    std::string variant;
    if (!alias_applies(alias, message.type, &variant)) continue;
    if (!payload.is_object()) {
      return unprocessable("\"" + message.type + "\" needs a JSON object as \"data\" (with \"" + alias.type_field +
                           "\")");
    }
    auto field = payload.value().find(alias.type_field);
    if (field == payload.value().end() || !field->is_string() || field->get<std::string>().empty()) {
      return make_error(ErrorCode::schema_violation, "\"" + message.type + "\" needs the string field \"" +
                                                         alias.type_field + "\" in \"data\" to name its outbound type");
    }
    const std::string placeholder = "{" + alias.type_field + "}";
    std::string outbound = alias.outbound;
    outbound.replace(outbound.find(placeholder), placeholder.size(), field->get<std::string>());
    if (!variant.empty() && !alias.variant_field.empty() && !payload.value().contains(alias.variant_field)) {
      payload.add_first(alias.variant_field, variant);
    }
    message.type = std::move(outbound);
    return {};
  }
  return {};
}

Status stamp_workspace_id(const Workspace& workspace, Payload& payload) {
  if (!payload.is_object()) {
    return unprocessable("\"data\" must be a JSON object: this catalog writes \"workspace_id\" into every payload");
  }
  auto named = payload.value().find(kWorkspaceIdField);
  if (named == payload.value().end()) {
    payload.add_first(kWorkspaceIdField, workspace.id);
    return {};
  }
  if (!named->is_string() || named->get<std::string>() != workspace.id) {
    Error error = make_error(ErrorCode::unprocessable, "\"data.workspace_id\" names another workspace than \"" +
                                                           workspace.id + "\", where it is published");
    error.path = "/workspace_id";
    return error;
  }
  return {};
}

}  // namespace

Result<ParsedMessage> prepare_message(const CatalogSnapshot& catalogs, const Workspace& workspace,
                                      ParsedMessage message) {
  if (workspace.test_mode) message.test = true;
  const CatalogSettings* catalog = catalogs.catalog(workspace.catalog);
  if (catalog == nullptr) {
    return make_error(ErrorCode::unavailable,
                      "the catalog \"" + workspace.catalog + "\" of this workspace is not loaded on this server");
  }
  Payload payload(message.data);
  if (auto aliased = apply_alias(*catalog, message, payload); !aliased) return aliased.error();

  const RegisteredType* type = catalogs.type(workspace.catalog, message.type);
  if (type == nullptr) {
    // Without a catalog any type goes; with one, only the types it lists.
    if (workspace.catalog.empty()) return message;
    return make_error(ErrorCode::unknown_event_type,
                      "the catalog \"" + workspace.catalog + "\" has no event type \"" + message.type +
                          "\" (GET /api/v1/event-types?catalog=" + workspace.catalog + ")");
  }
  if (type->type.archived) {
    return make_error(ErrorCode::unknown_event_type, "the event type \"" + message.type + "\" is archived");
  }
  if (catalog->stamp_workspace_id) {
    if (auto stamped = stamp_workspace_id(workspace, payload); !stamped) return stamped.error();
  }
  if (workspace.validate_payloads && type->schema) {
    if (auto checked = type->schema->check(payload.value()); !checked) return checked.error();
  }
  message.flags = type->type.flags;
  return message;
}

Result<ParsedMessage> test_message(const CatalogSnapshot& catalogs, const Workspace& workspace,
                                   const std::string& type_name) {
  const RegisteredType* type = catalogs.type(workspace.catalog, type_name);
  if (type == nullptr) {
    return make_error(ErrorCode::unknown_event_type,
                      "the catalog \"" + workspace.catalog + "\" has no event type \"" + type_name + "\"");
  }
  if (type->type.examples_json.empty()) {
    return make_error(ErrorCode::unprocessable, "the event type \"" + type_name + "\" has no example");
  }
  ParsedMessage message;
  message.type = type->type.name;
  message.data = type->type.examples_json.front();
  message.test = true;
  const CatalogSettings* catalog = catalogs.catalog(workspace.catalog);
  if (catalog != nullptr && catalog->stamp_workspace_id) {
    // The example names a workspace of its own; a test event carries the
    // one it is sent from, as a real event would.
    auto example = nlohmann::ordered_json::parse(message.data, nullptr, false);
    if (example.is_object()) {
      example[std::string(kWorkspaceIdField)] = workspace.id;
      message.data = example.dump();
    }
  }
  return prepare_message(catalogs, workspace, std::move(message));
}

}  // namespace ferry
