#pragma once

// How each domain type maps to its PostgreSQL table: the column list, reading
// a row into the struct, adding the struct's columns as parameters. Column
// lists, readers and binders share one order per table, so each is written
// once.

#include <string>
#include <string_view>

#include "core/api_key.hpp"
#include "core/attempt.hpp"
#include "core/delivery.hpp"
#include "core/endpoint.hpp"
#include "core/event_type.hpp"
#include "core/message.hpp"
#include "core/workspace.hpp"
#include "store/postgres_connection.hpp"

namespace ferry {

// SELECT lists, qualified by the alias each table gets in every query
// (w, k, t, e, m, d, a), so that joins can use them unchanged.
inline constexpr std::string_view kPgWorkspaceColumns = "w.id, w.name, w.created_at, w.updated_at";
inline constexpr std::string_view kPgApiKeyColumns =
    "k.workspace_id, k.id, k.name, k.token_prefix, k.token_hash, k.created_at";
inline constexpr std::string_view kPgEventTypeColumns =
    "t.name, t.group_name, t.description, t.schema_json, t.examples, t.flags, t.archived, t.created_at, "
    "t.updated_at";
inline constexpr std::string_view kPgEndpointColumns =
    "e.workspace_id, e.id, e.url, e.description, e.secrets, e.filter_types, e.profile, e.headers, e.rate_limit, "
    "e.enabled, e.disabled_reason, e.created_at, e.updated_at";
inline constexpr std::string_view kPgMessageColumns =
    "m.workspace_id, m.id, m.type, m.payload, m.created_at, m.idempotency_key, m.test";
inline constexpr std::string_view kPgDeliveryColumns =
    "d.workspace_id, d.id, d.message_id, d.endpoint_id, d.state, d.attempt_count, d.next_attempt_at, d.created_at, "
    "d.updated_at, d.lease_token";
inline constexpr std::string_view kPgAttemptColumns =
    "a.workspace_id, a.id, a.delivery_id, a.message_id, a.endpoint_id, a.attempt_number, a.started_at, "
    "a.latency_us, a.url, a.request_headers, a.response_status, a.response_headers, a.response_body, a.error, "
    "a.error_detail";

// Widths of the lists above, to read the next table's columns in a join.
inline constexpr int kPgMessageColumnCount = 7;
inline constexpr int kPgDeliveryColumnCount = 10;

// Readers: build the struct from the row's columns starting at `first`.
Workspace read_pg_workspace(const PgRow& row, int first);
ApiKey read_pg_api_key(const PgRow& row, int first);
EventType read_pg_event_type(const PgRow& row, int first);
Endpoint read_pg_endpoint(const PgRow& row, int first);
Message read_pg_message(const PgRow& row, int first);
Delivery read_pg_delivery(const PgRow& row, int first);
Attempt read_pg_attempt(const PgRow& row, int first);

// Binders: add every column of the list above, in its order, as the next parameters.
void add_pg_workspace(PgParams& params, const Workspace& workspace);
void add_pg_api_key(PgParams& params, const ApiKey& key);
void add_pg_event_type(PgParams& params, const EventType& type);
void add_pg_endpoint(PgParams& params, const Endpoint& endpoint);

// Header lists as JSON arrays of [name, value] pairs, as on SQLite. Encoding
// never fails: bytes that are not UTF-8 become U+FFFD. A malformed value
// decodes as an empty list.
std::string encode_pg_headers(const HeaderList& headers);
HeaderList decode_pg_headers(std::string_view json);

}  // namespace ferry
