#include "api/api_services.hpp"
#include "api/api_support.hpp"
#include "api/json_views.hpp"
#include "core/event_type_name.hpp"

namespace ferry {

namespace {

Result<EventType> event_type_from_json(const nlohmann::json& body, UnixMillis now) {
  EventType type;
  auto name = required_string(body, "name");
  if (!name) return name.error();
  if (!is_valid_event_type_name(*name)) {
    return make_error(ErrorCode::unprocessable, "\"name\" must be a dotted name of letters, digits, '_' and '-'");
  }
  type.name = std::move(*name);
  auto description = optional_string(body, "description");
  if (!description) return description.error();
  type.description = description->value_or("");
  auto group = optional_string(body, "group");
  if (!group) return group.error();
  // Without an explicit group, the first dotted segment is the group.
  type.group = group->value_or(type.name.substr(0, type.name.find('.')));
  if (auto it = body.find("schema"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return make_error(ErrorCode::unprocessable, "\"schema\" must be a JSON Schema object");
    type.schema_json = it->dump();
  }
  if (auto it = body.find("examples"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return make_error(ErrorCode::unprocessable, "\"examples\" must be an array");
    for (const auto& example : *it) type.examples_json.push_back(example.dump());
  }
  if (auto it = body.find("flags"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return make_error(ErrorCode::unprocessable, "\"flags\" must be an array of strings");
    for (const auto& flag : *it) {
      if (!flag.is_string()) return make_error(ErrorCode::unprocessable, "\"flags\" must be an array of strings");
      type.flags.push_back(flag.get<std::string>());
    }
  }
  type.created_at_ms = type.updated_at_ms = now;
  return type;
}

}  // namespace

void add_event_type_routes(Router& router, const ApiServices& services) {
  const ApiServices* s = &services;
  router.add("GET", "/api/v1/event-types", Access::any, [s](ApiCall& call) {
    respond_with(call, s->store.list_event_types(), 200,
                 [](const std::vector<EventType>& types) { return list_to_json(types); });
  });
  router.add("POST", "/api/v1/event-types", Access::admin, [s](ApiCall& call) {
    auto body = json_object_body(call.request);
    if (!body) return call.respond(error_response(body.error()));
    auto type = event_type_from_json(*body, s->clock.now_ms());
    if (!type) return call.respond(error_response(type.error()));
    respond_with(call, s->store.upsert_event_type(*type), 201, [](const EventType& saved) { return to_json(saved); });
  });
  router.add("GET", "/api/v1/event-types/{name}", Access::any, [s](ApiCall& call) {
    respond_with(call, s->store.get_event_type(call.params["name"]), 200,
                 [](const EventType& type) { return to_json(type); });
  });
}

}  // namespace ferry
