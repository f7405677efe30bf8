#include "store/sqlite_rows.hpp"

#include <nlohmann/json.hpp>

namespace ferry {

namespace {

using nlohmann::json;

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Parses without exceptions; anything but an array comes back as an empty one.
json parse_array(std::string_view text) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return value.is_array() ? value : json::array();
}

int read_int(const SqliteStatement& row, int column) { return static_cast<int>(row.column_int(column)); }

bool read_bool(const SqliteStatement& row, int column) { return row.column_int(column) != 0; }

std::optional<int> read_optional_int(const SqliteStatement& row, int column) {
  auto value = row.column_optional_int(column);
  if (!value) return std::nullopt;
  return static_cast<int>(*value);
}

std::optional<std::int64_t> widen(std::optional<int> value) {
  if (!value) return std::nullopt;
  return *value;
}

}  // namespace

std::string encode_strings(std::span<const std::string> values) {
  json array = json::array();
  for (const auto& value : values) array.push_back(value);
  return dump(array);
}

std::vector<std::string> decode_strings(std::string_view text) {
  std::vector<std::string> values;
  for (const auto& item : parse_array(text)) {
    if (item.is_string()) values.push_back(item.get_ref<const std::string&>());
  }
  return values;
}

std::string encode_headers(const HeaderList& headers) {
  json pairs = json::array();
  for (const auto& [name, value] : headers) pairs.push_back(json::array({name, value}));
  return dump(pairs);
}

HeaderList decode_headers(std::string_view text) {
  HeaderList headers;
  for (const auto& pair : parse_array(text)) {
    if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_string()) {
      headers.emplace_back(pair[0].get_ref<const std::string&>(), pair[1].get_ref<const std::string&>());
    }
  }
  return headers;
}

// --- readers

Workspace read_workspace(const SqliteStatement& row, int first) {
  Workspace workspace;
  workspace.id = row.column_text(first);
  workspace.name = row.column_text(first + 1);
  workspace.created_at_ms = row.column_int(first + 2);
  workspace.updated_at_ms = row.column_int(first + 3);
  return workspace;
}

ApiKey read_api_key(const SqliteStatement& row, int first) {
  ApiKey key;
  key.workspace_id = row.column_text(first);
  key.id = row.column_text(first + 1);
  key.name = row.column_text(first + 2);
  key.token_prefix = row.column_text(first + 3);
  key.token_hash = row.column_text(first + 4);
  key.created_at_ms = row.column_int(first + 5);
  return key;
}

EventType read_event_type(const SqliteStatement& row, int first) {
  EventType type;
  type.name = row.column_text(first);
  type.group = row.column_text(first + 1);
  type.description = row.column_text(first + 2);
  type.schema_json = row.column_text(first + 3);
  type.examples_json = decode_strings(row.column_text(first + 4));
  type.flags = decode_strings(row.column_text(first + 5));
  type.archived = read_bool(row, first + 6);
  type.created_at_ms = row.column_int(first + 7);
  type.updated_at_ms = row.column_int(first + 8);
  return type;
}

Endpoint read_endpoint(const SqliteStatement& row, int first) {
  Endpoint endpoint;
  endpoint.workspace_id = row.column_text(first);
  endpoint.id = row.column_text(first + 1);
  endpoint.url = row.column_text(first + 2);
  endpoint.description = row.column_text(first + 3);
  endpoint.secrets = decode_strings(row.column_text(first + 4));
  endpoint.filter_types = decode_strings(row.column_text(first + 5));
  endpoint.profile = row.column_text(first + 6);
  endpoint.headers = decode_headers(row.column_text(first + 7));
  endpoint.rate_limit = read_optional_int(row, first + 8);
  endpoint.enabled = read_bool(row, first + 9);
  endpoint.disabled_reason = row.column_text(first + 10);
  endpoint.created_at_ms = row.column_int(first + 11);
  endpoint.updated_at_ms = row.column_int(first + 12);
  return endpoint;
}

Message read_message(const SqliteStatement& row, int first) {
  Message message;
  message.workspace_id = row.column_text(first);
  message.id = row.column_text(first + 1);
  message.type = row.column_text(first + 2);
  message.payload = row.column_blob(first + 3);
  message.created_at_ms = row.column_int(first + 4);
  message.idempotency_key = row.column_optional_text(first + 5);
  message.test = read_bool(row, first + 6);
  return message;
}

Delivery read_delivery(const SqliteStatement& row, int first) {
  Delivery delivery;
  delivery.workspace_id = row.column_text(first);
  delivery.id = row.column_text(first + 1);
  delivery.message_id = row.column_text(first + 2);
  delivery.endpoint_id = row.column_text(first + 3);
  // The CHECK constraint admits only known states; the fallback is unreachable.
  delivery.state = parse_delivery_state(row.column_text(first + 4)).value_or(DeliveryState::failed);
  delivery.attempt_count = read_int(row, first + 5);
  delivery.next_attempt_at_ms = row.column_int(first + 6);
  delivery.created_at_ms = row.column_int(first + 7);
  delivery.updated_at_ms = row.column_int(first + 8);
  delivery.lease_token = row.column_int(first + 9);
  return delivery;
}

Attempt read_attempt(const SqliteStatement& row, int first) {
  Attempt attempt;
  attempt.workspace_id = row.column_text(first);
  attempt.id = row.column_text(first + 1);
  attempt.delivery_id = row.column_text(first + 2);
  attempt.message_id = row.column_text(first + 3);
  attempt.endpoint_id = row.column_text(first + 4);
  attempt.attempt_number = read_int(row, first + 5);
  attempt.started_at_ms = row.column_int(first + 6);
  attempt.latency_us = row.column_int(first + 7);
  attempt.url = row.column_text(first + 8);
  attempt.request_headers = decode_headers(row.column_text(first + 9));
  attempt.response_status = read_optional_int(row, first + 10);
  attempt.response_headers = decode_headers(row.column_text(first + 11));
  attempt.response_body = row.column_blob(first + 12);
  attempt.error = row.column_text(first + 13);
  attempt.error_detail = row.column_text(first + 14);
  return attempt;
}

// --- binders

void bind_workspace(SqliteStatement& stmt, const Workspace& workspace) {
  stmt.bind_text(1, workspace.id)
      .bind_text(2, workspace.name)
      .bind_int(3, workspace.created_at_ms)
      .bind_int(4, workspace.updated_at_ms);
}

void bind_api_key(SqliteStatement& stmt, const ApiKey& key) {
  stmt.bind_text(1, key.workspace_id)
      .bind_text(2, key.id)
      .bind_text(3, key.name)
      .bind_text(4, key.token_prefix)
      .bind_text(5, key.token_hash)
      .bind_int(6, key.created_at_ms);
}

void bind_event_type(SqliteStatement& stmt, const EventType& type) {
  stmt.bind_text(1, type.name)
      .bind_text(2, type.group)
      .bind_text(3, type.description)
      .bind_text(4, type.schema_json)
      .bind_text(5, encode_strings(type.examples_json))
      .bind_text(6, encode_strings(type.flags))
      .bind_int(7, type.archived ? 1 : 0)
      .bind_int(8, type.created_at_ms)
      .bind_int(9, type.updated_at_ms);
}

void bind_endpoint(SqliteStatement& stmt, const Endpoint& endpoint) {
  stmt.bind_text(1, endpoint.workspace_id)
      .bind_text(2, endpoint.id)
      .bind_text(3, endpoint.url)
      .bind_text(4, endpoint.description)
      .bind_text(5, encode_strings(endpoint.secrets))
      .bind_text(6, encode_strings(endpoint.filter_types))
      .bind_text(7, endpoint.profile)
      .bind_text(8, encode_headers(endpoint.headers))
      .bind_optional_int(9, widen(endpoint.rate_limit))
      .bind_int(10, endpoint.enabled ? 1 : 0)
      .bind_text(11, endpoint.disabled_reason)
      .bind_int(12, endpoint.created_at_ms)
      .bind_int(13, endpoint.updated_at_ms);
}

void bind_message(SqliteStatement& stmt, const Message& message) {
  stmt.bind_text(1, message.workspace_id)
      .bind_text(2, message.id)
      .bind_text(3, message.type)
      .bind_blob(4, message.payload)
      .bind_int(5, message.created_at_ms)
      .bind_optional_text(6, message.idempotency_key)
      .bind_int(7, message.test ? 1 : 0);
}

void bind_delivery(SqliteStatement& stmt, const Delivery& delivery) {
  stmt.bind_text(1, delivery.workspace_id)
      .bind_text(2, delivery.id)
      .bind_text(3, delivery.message_id)
      .bind_text(4, delivery.endpoint_id)
      .bind_text(5, delivery_state_name(delivery.state))
      .bind_int(6, delivery.attempt_count)
      .bind_int(7, delivery.next_attempt_at_ms)
      .bind_int(8, delivery.created_at_ms)
      .bind_int(9, delivery.updated_at_ms)
      .bind_int(10, delivery.lease_token);
}

void bind_attempt(SqliteStatement& stmt, const Attempt& attempt) {
  stmt.bind_text(1, attempt.workspace_id)
      .bind_text(2, attempt.id)
      .bind_text(3, attempt.delivery_id)
      .bind_text(4, attempt.message_id)
      .bind_text(5, attempt.endpoint_id)
      .bind_int(6, attempt.attempt_number)
      .bind_int(7, attempt.started_at_ms)
      .bind_int(8, attempt.latency_us)
      .bind_text(9, attempt.url)
      .bind_text(10, encode_headers(attempt.request_headers))
      .bind_optional_int(11, widen(attempt.response_status))
      .bind_text(12, encode_headers(attempt.response_headers))
      .bind_blob(13, attempt.response_body)
      .bind_text(14, attempt.error)
      .bind_text(15, attempt.error_detail);
}

}  // namespace ferry
