#include "store/postgres_rows.hpp"

#include <nlohmann/json.hpp>

namespace ferry {

namespace {

using nlohmann::json;

int read_int(const PgRow& row, int column) { return static_cast<int>(row.integer(column)); }

std::optional<int> read_optional_int(const PgRow& row, int column) {
  auto value = row.optional_integer(column);
  if (!value) return std::nullopt;
  return static_cast<int>(*value);
}

std::optional<std::int64_t> widen(std::optional<int> value) {
  if (!value) return std::nullopt;
  return *value;
}

}  // namespace

std::string encode_pg_headers(const HeaderList& headers) {
  json pairs = json::array();
  for (const auto& [name, value] : headers) pairs.push_back(json::array({name, value}));
  return pairs.dump(-1, ' ', false, json::error_handler_t::replace);
}

HeaderList decode_pg_headers(std::string_view text) {
  HeaderList headers;
  const json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!value.is_array()) return headers;
  for (const auto& pair : value) {
    if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_string()) {
      headers.emplace_back(pair[0].get_ref<const std::string&>(), pair[1].get_ref<const std::string&>());
    }
  }
  return headers;
}

// --- readers

Workspace read_pg_workspace(const PgRow& row, int first) {
  Workspace workspace;
  workspace.id = row.text(first);
  workspace.name = row.text(first + 1);
  workspace.created_at_ms = row.integer(first + 2);
  workspace.updated_at_ms = row.integer(first + 3);
  return workspace;
}

ApiKey read_pg_api_key(const PgRow& row, int first) {
  ApiKey key;
  key.workspace_id = row.text(first);
  key.id = row.text(first + 1);
  key.name = row.text(first + 2);
  key.token_prefix = row.text(first + 3);
  key.token_hash = row.text(first + 4);
  key.created_at_ms = row.integer(first + 5);
  return key;
}

EventType read_pg_event_type(const PgRow& row, int first) {
  EventType type;
  type.name = row.text(first);
  type.group = row.text(first + 1);
  type.description = row.text(first + 2);
  type.schema_json = row.text(first + 3);
  type.examples_json = row.text_array(first + 4);
  type.flags = row.text_array(first + 5);
  type.archived = row.boolean(first + 6);
  type.created_at_ms = row.integer(first + 7);
  type.updated_at_ms = row.integer(first + 8);
  return type;
}

Endpoint read_pg_endpoint(const PgRow& row, int first) {
  Endpoint endpoint;
  endpoint.workspace_id = row.text(first);
  endpoint.id = row.text(first + 1);
  endpoint.url = row.text(first + 2);
  endpoint.description = row.text(first + 3);
  endpoint.secrets = row.text_array(first + 4);
  endpoint.filter_types = row.text_array(first + 5);
  endpoint.profile = row.text(first + 6);
  endpoint.headers = decode_pg_headers(row.text(first + 7));
  endpoint.rate_limit = read_optional_int(row, first + 8);
  endpoint.enabled = row.boolean(first + 9);
  endpoint.disabled_reason = row.text(first + 10);
  endpoint.created_at_ms = row.integer(first + 11);
  endpoint.updated_at_ms = row.integer(first + 12);
  return endpoint;
}

Message read_pg_message(const PgRow& row, int first) {
  Message message;
  message.workspace_id = row.text(first);
  message.id = row.text(first + 1);
  message.type = row.text(first + 2);
  message.payload = row.text(first + 3);
  message.created_at_ms = row.integer(first + 4);
  message.idempotency_key = row.optional_text(first + 5);
  message.test = row.boolean(first + 6);
  return message;
}

Delivery read_pg_delivery(const PgRow& row, int first) {
  Delivery delivery;
  delivery.workspace_id = row.text(first);
  delivery.id = row.text(first + 1);
  delivery.message_id = row.text(first + 2);
  delivery.endpoint_id = row.text(first + 3);
  // The CHECK constraint admits only known states; the fallback is unreachable.
  delivery.state = parse_delivery_state(row.text(first + 4)).value_or(DeliveryState::failed);
  delivery.attempt_count = read_int(row, first + 5);
  delivery.next_attempt_at_ms = row.integer(first + 6);
  delivery.created_at_ms = row.integer(first + 7);
  delivery.updated_at_ms = row.integer(first + 8);
  delivery.lease_token = row.integer(first + 9);
  return delivery;
}

Attempt read_pg_attempt(const PgRow& row, int first) {
  Attempt attempt;
  attempt.workspace_id = row.text(first);
  attempt.id = row.text(first + 1);
  attempt.delivery_id = row.text(first + 2);
  attempt.message_id = row.text(first + 3);
  attempt.endpoint_id = row.text(first + 4);
  attempt.attempt_number = read_int(row, first + 5);
  attempt.started_at_ms = row.integer(first + 6);
  attempt.latency_us = row.integer(first + 7);
  attempt.url = row.text(first + 8);
  attempt.request_headers = decode_pg_headers(row.text(first + 9));
  attempt.response_status = read_optional_int(row, first + 10);
  attempt.response_headers = decode_pg_headers(row.text(first + 11));
  attempt.response_body = row.text(first + 12);
  attempt.error = row.text(first + 13);
  attempt.error_detail = row.text(first + 14);
  return attempt;
}

// --- binders

void add_pg_workspace(PgParams& params, const Workspace& workspace) {
  params.text(workspace.id).text(workspace.name).integer(workspace.created_at_ms).integer(workspace.updated_at_ms);
}

void add_pg_api_key(PgParams& params, const ApiKey& key) {
  params.text(key.workspace_id)
      .text(key.id)
      .text(key.name)
      .text(key.token_prefix)
      .text(key.token_hash)
      .integer(key.created_at_ms);
}

void add_pg_event_type(PgParams& params, const EventType& type) {
  params.text(type.name)
      .text(type.group)
      .text(type.description)
      .text(type.schema_json)
      .text_array(type.examples_json)
      .text_array(type.flags)
      .boolean(type.archived)
      .integer(type.created_at_ms)
      .integer(type.updated_at_ms);
}

void add_pg_endpoint(PgParams& params, const Endpoint& endpoint) {
  params.text(endpoint.workspace_id)
      .text(endpoint.id)
      .text(endpoint.url)
      .text(endpoint.description)
      .text_array(endpoint.secrets)
      .text_array(endpoint.filter_types)
      .text(endpoint.profile)
      .text(encode_pg_headers(endpoint.headers))
      .optional_integer(widen(endpoint.rate_limit))
      .boolean(endpoint.enabled)
      .text(endpoint.disabled_reason)
      .integer(endpoint.created_at_ms)
      .integer(endpoint.updated_at_ms);
}

}  // namespace ferry
