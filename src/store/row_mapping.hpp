#pragma once

// How each domain type maps to a row, the same on every backend: which field
// is which column, in which order, and how states and header lists are
// stored. A backend keeps its own SQL (the column lists, in its rows header)
// and speaks this vocabulary over its own row and parameter types:
//
//   row.text(i)    bytes(i)    integer(i)    boolean(i)    text_array(i)
//      optional_text(i)    optional_integer(i)
//   params.text(v) bytes(v)    integer(v)    boolean(v)    text_array(v)
//      optional_text(v)    optional_integer(v)    (each adds the next parameter)
//
// How a kind of value is stored (a list as text[] or as JSON, a boolean as
// bool or as 0/1) is the backend's choice; which field goes where is not, so
// it is written once, here.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/api_key.hpp"
#include "core/attempt.hpp"
#include "core/delivery.hpp"
#include "core/endpoint.hpp"
#include "core/event_type.hpp"
#include "core/message.hpp"
#include "core/workspace.hpp"
#include "store/store.hpp"

namespace ferry {

// Widths of the column lists whose next table a join reads; each backend's
// lists are checked against them.
inline constexpr int kMessageColumnCount = 8;
inline constexpr int kDeliveryColumnCount = 10;

constexpr int column_count(std::string_view columns) { return static_cast<int>(std::ranges::count(columns, ',')) + 1; }

// Lists as JSON arrays, where a backend stores them as text. Encoding never
// fails: bytes that are not UTF-8 (a receiver's odd header, say) become
// U+FFFD. A malformed value decodes as an empty list rather than failing the
// whole read.
std::string encode_strings(std::span<const std::string> values);
std::vector<std::string> decode_strings(std::string_view json);
std::string encode_headers(const HeaderList& headers);
HeaderList decode_headers(std::string_view json);

// Columns are 64-bit; these fields are int.
inline std::optional<int> narrow(std::optional<std::int64_t> value) {
  if (!value) return std::nullopt;
  return static_cast<int>(*value);
}

inline std::optional<std::int64_t> widen(std::optional<int> value) {
  if (!value) return std::nullopt;
  return *value;
}

// --- readers: build the struct from the row's columns starting at `first`.
// Objects rather than function templates, so that a backend can hand them to
// its query helpers by name and the row type is deduced there.

inline constexpr auto read_workspace = [](const auto& row, int first) {
  Workspace workspace;
  workspace.id = row.text(first);
  workspace.name = row.text(first + 1);
  workspace.catalog = row.text(first + 2);
  workspace.profile = row.text(first + 3);
  workspace.validate_payloads = row.boolean(first + 4);
  workspace.test_mode = row.boolean(first + 5);
  workspace.created_at_ms = row.integer(first + 6);
  workspace.updated_at_ms = row.integer(first + 7);
  return workspace;
};

inline constexpr auto read_api_key = [](const auto& row, int first) {
  ApiKey key;
  key.workspace_id = row.text(first);
  key.id = row.text(first + 1);
  key.name = row.text(first + 2);
  key.token_prefix = row.text(first + 3);
  key.token_hash = row.text(first + 4);
  key.created_at_ms = row.integer(first + 5);
  return key;
};

inline constexpr auto read_event_type = [](const auto& row, int first) {
  EventType type;
  type.catalog = row.text(first);
  type.name = row.text(first + 1);
  type.group = row.text(first + 2);
  type.description = row.text(first + 3);
  type.schema_json = row.text(first + 4);
  type.examples_json = row.text_array(first + 5);
  type.flags = row.text_array(first + 6);
  type.archived = row.boolean(first + 7);
  type.created_at_ms = row.integer(first + 8);
  type.updated_at_ms = row.integer(first + 9);
  return type;
};

inline constexpr auto read_catalog = [](const auto& row, int first) {
  CatalogDocument catalog;
  catalog.name = row.text(first);
  catalog.document_json = row.text(first + 1);
  catalog.created_at_ms = row.integer(first + 2);
  catalog.updated_at_ms = row.integer(first + 3);
  return catalog;
};

inline constexpr auto read_endpoint = [](const auto& row, int first) {
  Endpoint endpoint;
  endpoint.workspace_id = row.text(first);
  endpoint.id = row.text(first + 1);
  endpoint.url = row.text(first + 2);
  endpoint.description = row.text(first + 3);
  endpoint.secrets = row.text_array(first + 4);
  endpoint.filter_types = row.text_array(first + 5);
  endpoint.profile = row.text(first + 6);
  endpoint.headers = decode_headers(row.text(first + 7));
  endpoint.rate_limit = narrow(row.optional_integer(first + 8));
  endpoint.enabled = row.boolean(first + 9);
  endpoint.disabled_reason = row.text(first + 10);
  endpoint.created_at_ms = row.integer(first + 11);
  endpoint.updated_at_ms = row.integer(first + 12);
  return endpoint;
};

inline constexpr auto read_message = [](const auto& row, int first) {
  Message message;
  message.workspace_id = row.text(first);
  message.id = row.text(first + 1);
  message.type = row.text(first + 2);
  message.payload = row.bytes(first + 3);
  message.created_at_ms = row.integer(first + 4);
  message.idempotency_key = row.optional_text(first + 5);
  message.test = row.boolean(first + 6);
  message.flags = row.text_array(first + 7);
  return message;
};

inline constexpr auto read_delivery = [](const auto& row, int first) {
  Delivery delivery;
  delivery.workspace_id = row.text(first);
  delivery.id = row.text(first + 1);
  delivery.message_id = row.text(first + 2);
  delivery.endpoint_id = row.text(first + 3);
  // The CHECK constraint admits only known states; the fallback is unreachable.
  delivery.state = parse_delivery_state(row.text(first + 4)).value_or(DeliveryState::failed);
  delivery.attempt_count = static_cast<int>(row.integer(first + 5));
  delivery.next_attempt_at_ms = row.integer(first + 6);
  delivery.created_at_ms = row.integer(first + 7);
  delivery.updated_at_ms = row.integer(first + 8);
  delivery.lease_token = row.integer(first + 9);
  return delivery;
};

inline constexpr auto read_attempt = [](const auto& row, int first) {
  Attempt attempt;
  attempt.workspace_id = row.text(first);
  attempt.id = row.text(first + 1);
  attempt.delivery_id = row.text(first + 2);
  attempt.message_id = row.text(first + 3);
  attempt.endpoint_id = row.text(first + 4);
  attempt.attempt_number = static_cast<int>(row.integer(first + 5));
  attempt.started_at_ms = row.integer(first + 6);
  attempt.latency_us = row.integer(first + 7);
  attempt.url = row.text(first + 8);
  attempt.request_headers = decode_headers(row.text(first + 9));
  attempt.response_status = narrow(row.optional_integer(first + 10));
  attempt.response_headers = decode_headers(row.text(first + 11));
  attempt.response_body = row.bytes(first + 12);
  attempt.error = row.text(first + 13);
  attempt.error_detail = row.text(first + 14);
  return attempt;
};

// A delivery joined with its message and endpoint, in that order.
inline constexpr auto read_due_delivery = [](const auto& row, int first) {
  DueDelivery due;
  due.delivery = read_delivery(row, first);
  due.message = read_message(row, first + kDeliveryColumnCount);
  due.endpoint = read_endpoint(row, first + kDeliveryColumnCount + kMessageColumnCount);
  return due;
};

// --- binders: add every column of the table's list, in its order, as the
// next parameters.

template <class Params>
void bind_workspace(Params&& params, const Workspace& workspace) {
  params.text(workspace.id)
      .text(workspace.name)
      .text(workspace.catalog)
      .text(workspace.profile)
      .boolean(workspace.validate_payloads)
      .boolean(workspace.test_mode)
      .integer(workspace.created_at_ms)
      .integer(workspace.updated_at_ms);
}

template <class Params>
void bind_api_key(Params&& params, const ApiKey& key) {
  params.text(key.workspace_id)
      .text(key.id)
      .text(key.name)
      .text(key.token_prefix)
      .text(key.token_hash)
      .integer(key.created_at_ms);
}

template <class Params>
void bind_event_type(Params&& params, const EventType& type) {
  params.text(type.catalog)
      .text(type.name)
      .text(type.group)
      .text(type.description)
      .text(type.schema_json)
      .text_array(type.examples_json)
      .text_array(type.flags)
      .boolean(type.archived)
      .integer(type.created_at_ms)
      .integer(type.updated_at_ms);
}

template <class Params>
void bind_catalog(Params&& params, const CatalogDocument& catalog) {
  params.text(catalog.name).text(catalog.document_json).integer(catalog.created_at_ms).integer(catalog.updated_at_ms);
}

template <class Params>
void bind_endpoint(Params&& params, const Endpoint& endpoint) {
  params.text(endpoint.workspace_id)
      .text(endpoint.id)
      .text(endpoint.url)
      .text(endpoint.description)
      .text_array(endpoint.secrets)
      .text_array(endpoint.filter_types)
      .text(endpoint.profile)
      .text(encode_headers(endpoint.headers))
      .optional_integer(widen(endpoint.rate_limit))
      .boolean(endpoint.enabled)
      .text(endpoint.disabled_reason)
      .integer(endpoint.created_at_ms)
      .integer(endpoint.updated_at_ms);
}

template <class Params>
void bind_message(Params&& params, const Message& message) {
  params.text(message.workspace_id)
      .text(message.id)
      .text(message.type)
      .bytes(message.payload)
      .integer(message.created_at_ms)
      .optional_text(message.idempotency_key)
      .boolean(message.test)
      .text_array(message.flags);
}

template <class Params>
void bind_delivery(Params&& params, const Delivery& delivery) {
  params.text(delivery.workspace_id)
      .text(delivery.id)
      .text(delivery.message_id)
      .text(delivery.endpoint_id)
      .text(delivery_state_name(delivery.state))
      .integer(delivery.attempt_count)
      .integer(delivery.next_attempt_at_ms)
      .integer(delivery.created_at_ms)
      .integer(delivery.updated_at_ms)
      .integer(delivery.lease_token);
}

template <class Params>
void bind_attempt(Params&& params, const Attempt& attempt) {
  params.text(attempt.workspace_id)
      .text(attempt.id)
      .text(attempt.delivery_id)
      .text(attempt.message_id)
      .text(attempt.endpoint_id)
      .integer(attempt.attempt_number)
      .integer(attempt.started_at_ms)
      .integer(attempt.latency_us)
      .text(attempt.url)
      .text(encode_headers(attempt.request_headers))
      .optional_integer(widen(attempt.response_status))
      .text(encode_headers(attempt.response_headers))
      .bytes(attempt.response_body)
      .text(attempt.error)
      .text(attempt.error_detail);
}

}  // namespace ferry
