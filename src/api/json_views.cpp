#include "api/json_views.hpp"

#include <algorithm>

#include "core/time_format.hpp"

namespace ferry {

namespace {

nlohmann::json headers_object(const HeaderList& headers) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [name, value] : headers) {
    // Invalid UTF-8 in a receiver's header must not break the API's JSON.
    object[name] = value;
  }
  return object;
}

// Stored payloads were validated on publish; a parse failure here would be
// a bug, shown rather than hidden.
bool has_flag(const std::vector<std::string>& flags, std::string_view flag) {
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

nlohmann::json raw_json(const std::string& text) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json(text) : parsed;
}

}  // namespace

nlohmann::json to_json(const Workspace& workspace) {
  return {{"id", workspace.id},
          {"name", workspace.name},
          {"catalog", workspace.catalog.empty() ? nlohmann::json(nullptr) : nlohmann::json(workspace.catalog)},
          {"profile", workspace.profile.empty() ? nlohmann::json(nullptr) : nlohmann::json(workspace.profile)},
          {"validate_payloads", workspace.validate_payloads},
          {"test_mode", workspace.test_mode},
          {"created_at", format_rfc3339(workspace.created_at_ms)},
          {"updated_at", format_rfc3339(workspace.updated_at_ms)}};
}

nlohmann::json to_json(const ApiKey& key) {
  return {{"id", key.id},
          {"workspace_id", key.workspace_id},
          {"name", key.name},
          {"prefix", key.token_prefix},
          {"created_at", format_rfc3339(key.created_at_ms)}};
}

nlohmann::json to_json(const Endpoint& endpoint) {
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, value] : endpoint.headers) headers[name] = value;
  return {{"id", endpoint.id},
          {"workspace_id", endpoint.workspace_id},
          {"url", endpoint.url},
          {"description", endpoint.description},
          {"secret", endpoint.secrets.empty() ? nlohmann::json(nullptr) : nlohmann::json(endpoint.secrets.front())},
          {"filter_types", endpoint.filter_types},
          {"profile", endpoint.profile.empty() ? nlohmann::json(nullptr) : nlohmann::json(endpoint.profile)},
          {"headers", std::move(headers)},
          {"rate_limit", endpoint.rate_limit ? nlohmann::json(*endpoint.rate_limit) : nlohmann::json(nullptr)},
          {"enabled", endpoint.enabled},
          {"disabled_reason",
           endpoint.disabled_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(endpoint.disabled_reason)},
          {"created_at", format_rfc3339(endpoint.created_at_ms)},
          {"updated_at", format_rfc3339(endpoint.updated_at_ms)}};
}

namespace {
// A message's fields but its payload.
nlohmann::json message_fields(const Message& message) {
  return {{"id", message.id},
          {"workspace_id", message.workspace_id},
          {"type", message.type},
          {"created_at", format_rfc3339(message.created_at_ms)},
          {"test", message.test},
          {"flags", message.flags},
          {"passive", has_flag(message.flags, "PASSIVE")}};
}
}  // namespace

nlohmann::json to_json(const Message& message) {
  nlohmann::json json = message_fields(message);
  json["data"] = raw_json(message.payload);
  return json;
}

nlohmann::json to_json(const Delivery& delivery) {
  const bool open = delivery.state == DeliveryState::pending || delivery.state == DeliveryState::retrying;
  return {
      {"id", delivery.id},
      {"workspace_id", delivery.workspace_id},
      {"message_id", delivery.message_id},
      {"endpoint_id", delivery.endpoint_id},
      {"state", delivery_state_name(delivery.state)},
      {"attempt_count", delivery.attempt_count},
      {"next_attempt_at", open ? nlohmann::json(format_rfc3339(delivery.next_attempt_at_ms)) : nlohmann::json(nullptr)},
      {"created_at", format_rfc3339(delivery.created_at_ms)},
      {"updated_at", format_rfc3339(delivery.updated_at_ms)}};
}

nlohmann::json to_json(const Attempt& attempt) {
  return {
      {"id", attempt.id},
      {"workspace_id", attempt.workspace_id},
      {"delivery_id", attempt.delivery_id},
      {"message_id", attempt.message_id},
      {"endpoint_id", attempt.endpoint_id},
      {"attempt_number", attempt.attempt_number},
      {"started_at", format_rfc3339(attempt.started_at_ms)},
      {"latency_ms", static_cast<double>(attempt.latency_us) / 1000.0},
      {"url", attempt.url},
      {"request_headers", headers_object(attempt.request_headers)},
      {"response_status", attempt.response_status ? nlohmann::json(*attempt.response_status) : nlohmann::json(nullptr)},
      {"response_headers", headers_object(attempt.response_headers)},
      {"response_body", attempt.response_body},
      {"error", attempt.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(attempt.error)},
      {"error_detail", attempt.error_detail.empty() ? nlohmann::json(nullptr) : nlohmann::json(attempt.error_detail)}};
}

nlohmann::json to_json(const EventType& type) {
  nlohmann::json examples = nlohmann::json::array();
  for (const auto& example : type.examples_json) examples.push_back(raw_json(example));
  return {{"name", type.name},
          {"catalog", type.catalog.empty() ? nlohmann::json(nullptr) : nlohmann::json(type.catalog)},
          {"group", type.group},
          {"description", type.description},
          {"schema", type.schema_json.empty() ? nlohmann::json(nullptr) : raw_json(type.schema_json)},
          {"examples", std::move(examples)},
          {"flags", type.flags},
          {"passive", has_flag(type.flags, "PASSIVE")},
          {"deprecated", has_flag(type.flags, "deprecated")},
          {"archived", type.archived},
          {"created_at", format_rfc3339(type.created_at_ms)},
          {"updated_at", format_rfc3339(type.updated_at_ms)}};
}

std::string publish_outcome_text(const PublishOutcome& outcome) {
  nlohmann::json fields = message_fields(outcome.message);
  fields["duplicate"] = outcome.duplicate;
  fields["deliveries"] = outcome.deliveries_created;
  std::string text = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.pop_back();  // the object's closing brace: the payload goes before it
  text += R"(,"data":)";
  text += outcome.message.payload.empty() ? std::string_view("null") : std::string_view(outcome.message.payload);
  text += '}';
  return text;
}

}  // namespace ferry
