#pragma once

// How each domain type maps to its table: the column list, reading a row into
// the struct, binding the struct as parameters. Column lists, readers and
// binders share one order per table, so each is written once.

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
#include "store/sqlite_connection.hpp"

namespace ferry {

// SELECT lists, qualified by the alias each table gets in every query
// (w, k, t, e, m, d, a), so that joins can use them unchanged.
inline constexpr std::string_view kWorkspaceColumns = "w.id, w.name, w.created_at, w.updated_at";
inline constexpr std::string_view kApiKeyColumns =
    "k.workspace_id, k.id, k.name, k.token_prefix, k.token_hash, k.created_at";
inline constexpr std::string_view kEventTypeColumns =
    "t.name, t.group_name, t.description, t.schema_json, t.examples_json, t.flags, t.archived, t.created_at, "
    "t.updated_at";
inline constexpr std::string_view kEndpointColumns =
    "e.workspace_id, e.id, e.url, e.description, e.secrets, e.filter_types, e.profile, e.headers, e.rate_limit, "
    "e.enabled, e.disabled_reason, e.created_at, e.updated_at";
inline constexpr std::string_view kMessageColumns =
    "m.workspace_id, m.id, m.type, m.payload, m.created_at, m.idempotency_key, m.test";
inline constexpr std::string_view kDeliveryColumns =
    "d.workspace_id, d.id, d.message_id, d.endpoint_id, d.state, d.attempt_count, d.next_attempt_at, d.created_at, "
    "d.updated_at, d.lease_token";
inline constexpr std::string_view kAttemptColumns =
    "a.workspace_id, a.id, a.delivery_id, a.message_id, a.endpoint_id, a.attempt_number, a.started_at, "
    "a.latency_us, a.url, a.request_headers, a.response_status, a.response_headers, a.response_body, a.error, "
    "a.error_detail";

// Widths of the lists above, to read the next table's columns in a join.
inline constexpr int kMessageColumnCount = 7;
inline constexpr int kDeliveryColumnCount = 10;

// Readers: build the struct from the row's columns starting at `first`.
Workspace read_workspace(const SqliteStatement& row, int first);
ApiKey read_api_key(const SqliteStatement& row, int first);
EventType read_event_type(const SqliteStatement& row, int first);
Endpoint read_endpoint(const SqliteStatement& row, int first);
Message read_message(const SqliteStatement& row, int first);
Delivery read_delivery(const SqliteStatement& row, int first);
Attempt read_attempt(const SqliteStatement& row, int first);

// Binders: bind every column of the list above, in its order, to ?1..?N.
void bind_workspace(SqliteStatement& stmt, const Workspace& workspace);
void bind_api_key(SqliteStatement& stmt, const ApiKey& key);
void bind_event_type(SqliteStatement& stmt, const EventType& type);
void bind_endpoint(SqliteStatement& stmt, const Endpoint& endpoint);
void bind_message(SqliteStatement& stmt, const Message& message);
void bind_delivery(SqliteStatement& stmt, const Delivery& delivery);
void bind_attempt(SqliteStatement& stmt, const Attempt& attempt);

// Lists as JSON arrays. Encoding never throws: bytes that are not UTF-8 (a
// receiver's odd header, say) are replaced by U+FFFD. Decoding a malformed
// value yields an empty list rather than failing the whole read.
std::string encode_strings(std::span<const std::string> values);
std::vector<std::string> decode_strings(std::string_view json);
std::string encode_headers(const HeaderList& headers);
HeaderList decode_headers(std::string_view json);

}  // namespace ferry
