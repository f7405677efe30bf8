#include <nlohmann/json.hpp>

#include "api/api_services.hpp"
#include "api/api_support.hpp"
#include "api/json_views.hpp"
#include "catalog/catalog_file.hpp"
#include "core/event_type_name.hpp"

namespace ferry {

namespace {

// The catalog a request names with ?catalog=, "" (types registered on their
// own) when it names none.
std::string catalog_param(const ApiCall& call) { return query_param(call.request.query, "catalog").value_or(""); }

// Reads the fields a request may set onto `type`; absent fields keep their value.
Status apply_event_type_fields(const nlohmann::json& body, EventType& type) {
  auto description = optional_string(body, "description");
  if (!description) return description.error();
  if (*description) type.description = std::move(**description);
  auto group = optional_string(body, "group");
  if (!group) return group.error();
  if (*group) type.group = std::move(**group);
  if (auto it = body.find("schema"); it != body.end()) {
    if (it->is_null()) {
      type.schema_json.clear();
    } else if (!it->is_object()) {
      return make_error(ErrorCode::unprocessable, "\"schema\" must be a JSON Schema object or null");
    } else {
      type.schema_json = it->dump();
    }
  }
  if (auto it = body.find("examples"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return make_error(ErrorCode::unprocessable, "\"examples\" must be an array");
    type.examples_json.clear();
    for (const auto& example : *it) type.examples_json.push_back(example.dump());
  }
  if (auto it = body.find("flags"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return make_error(ErrorCode::unprocessable, "\"flags\" must be an array of strings");
    type.flags.clear();
    for (const auto& flag : *it) {
      if (!flag.is_string() || !is_valid_event_flag(flag.get<std::string>())) {
        return make_error(ErrorCode::unprocessable, "\"flags\" must be names of letters, digits, '-' and '_'");
      }
      type.flags.push_back(flag.get<std::string>());
    }
  }
  auto archived = optional_bool(body, "archived");
  if (!archived) return archived.error();
  if (*archived) type.archived = **archived;
  return {};
}

void create_event_type(ApiCall& call, const ApiServices& services) {
  auto body = json_object_body(call.request);
  if (!body) return call.respond(error_response(body.error()));
  auto name = required_string(*body, "name");
  if (!name) return call.respond(error_response(name.error()));
  if (!is_valid_event_type_name(*name)) {
    return call.respond(error_response(
        make_error(ErrorCode::unprocessable, "\"name\" must be a dotted name of letters, digits, '_' and '-'")));
  }
  auto catalog = optional_string(*body, "catalog");
  if (!catalog) return call.respond(error_response(catalog.error()));
  EventType type;
  type.catalog = catalog->value_or("");
  type.name = std::move(*name);
  // Without an explicit group, the first dotted segment is the group.
  type.group = type.name.substr(0, type.name.find('.'));
  if (auto applied = apply_event_type_fields(*body, type); !applied) {
    return call.respond(error_response(applied.error()));
  }
  const UnixMillis now = services.clock.now_ms();
  type.created_at_ms = type.updated_at_ms = now;
  respond_with(call, services.catalogs.upsert_type(std::move(type)), 201,
               [](const EventType& saved) { return to_json(saved); });
}

void update_event_type(ApiCall& call, const ApiServices& services, std::optional<bool> archive) {
  nlohmann::json body = nlohmann::json::object();
  if (!archive) {
    auto parsed = json_object_body(call.request);
    if (!parsed) return call.respond(error_response(parsed.error()));
    body = std::move(*parsed);
    if (body.contains("name") || body.contains("catalog")) {
      return call.respond(
          error_response(make_error(ErrorCode::unprocessable, "an event type's name and catalog cannot change")));
    }
  }
  auto type = services.store.get_event_type(catalog_param(call), call.params["name"]);
  if (!type) return call.respond(error_response(type.error()));
  if (auto applied = apply_event_type_fields(body, *type); !applied) {
    return call.respond(error_response(applied.error()));
  }
  if (archive) type->archived = *archive;
  type->updated_at_ms = services.clock.now_ms();
  respond_with(call, services.catalogs.upsert_type(std::move(*type)), 200,
               [](const EventType& saved) { return to_json(saved); });
}

}  // namespace

void add_event_type_routes(Router& router, const ApiServices& services) {
  const ApiServices* s = &services;
  // ?catalog=NAME lists one catalog's types (default: every catalog's);
  // ?include_archived=true lists archived ones too.
  router.add("GET", "/api/v1/event-types", Access::any_or_portal, [s](ApiCall& call) {
    const auto catalog = query_param(call.request.query, "catalog");
    const bool include_archived = query_param(call.request.query, "include_archived").value_or("") == "true";
    const auto snapshot = s->catalogs.snapshot();
    if (catalog && snapshot->catalog(*catalog) == nullptr) {
      return call.respond(error_response(make_error(ErrorCode::not_found, "no catalog is named \"" + *catalog + "\"")));
    }
    nlohmann::json data = nlohmann::json::array();
    for (const RegisteredType* type : snapshot->types(catalog ? &*catalog : nullptr)) {
      if (type->type.archived && !include_archived) continue;
      data.push_back(to_json(type->type));
    }
    call.respond(json_response(200, {{"data", std::move(data)}}));
  });
  router.add("POST", "/api/v1/event-types", Access::admin, [s](ApiCall& call) { create_event_type(call, *s); });
  router.add("GET", "/api/v1/event-types/{name}", Access::any_or_portal, [s](ApiCall& call) {
    respond_with(call, s->store.get_event_type(catalog_param(call), call.params["name"]), 200,
                 [](const EventType& type) { return to_json(type); });
  });
  router.add("PATCH", "/api/v1/event-types/{name}", Access::admin,
             [s](ApiCall& call) { update_event_type(call, *s, std::nullopt); });
  // Archiving keeps the type (old messages still name it) but refuses new publishes of it.
  router.add("DELETE", "/api/v1/event-types/{name}", Access::admin,
             [s](ApiCall& call) { update_event_type(call, *s, true); });
  router.add("POST", "/api/v1/event-types/{name}/archive", Access::admin,
             [s](ApiCall& call) { update_event_type(call, *s, true); });
  router.add("POST", "/api/v1/event-types/{name}/unarchive", Access::admin,
             [s](ApiCall& call) { update_event_type(call, *s, false); });
}

}  // namespace ferry
