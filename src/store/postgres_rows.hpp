#pragma once

// Each domain type's table on PostgreSQL: the column lists. PgRow and
// PgParams speak the vocabulary of row_mapping.hpp, which maps every field.

#include <string_view>

#include "store/postgres_connection.hpp"
#include "store/row_mapping.hpp"

namespace ferry {

// SELECT lists, qualified by the alias each table gets in every query
// (w, c, k, t, e, m, d, a), so that joins can use them unchanged.
inline constexpr std::string_view kPgWorkspaceColumns =
    "w.id, w.name, w.catalog, w.profile, w.validate_payloads, w.test_mode, w.created_at, w.updated_at";
inline constexpr std::string_view kPgCatalogColumns = "c.name, c.document, c.created_at, c.updated_at";
inline constexpr std::string_view kPgApiKeyColumns =
    "k.workspace_id, k.id, k.name, k.token_prefix, k.token_hash, k.created_at";
inline constexpr std::string_view kPgEventTypeColumns =
    "t.catalog, t.name, t.group_name, t.description, t.schema_json, t.examples, t.flags, t.archived, t.created_at, "
    "t.updated_at";
inline constexpr std::string_view kPgEndpointColumns =
    "e.workspace_id, e.id, e.url, e.description, e.secrets, e.filter_types, e.profile, e.headers, e.rate_limit, "
    "e.enabled, e.disabled_reason, e.created_at, e.updated_at";
inline constexpr std::string_view kPgMessageColumns =
    "m.workspace_id, m.id, m.type, m.payload, m.created_at, m.idempotency_key, m.test, m.flags";
inline constexpr std::string_view kPgDeliveryColumns =
    "d.workspace_id, d.id, d.message_id, d.endpoint_id, d.state, d.attempt_count, d.next_attempt_at, d.created_at, "
    "d.updated_at, d.lease_token";
inline constexpr std::string_view kPgAttemptColumns =
    "a.workspace_id, a.id, a.delivery_id, a.message_id, a.endpoint_id, a.attempt_number, a.started_at, "
    "a.latency_us, a.url, a.request_headers, a.response_status, a.response_headers, a.response_body, a.error, "
    "a.error_detail";

static_assert(column_count(kPgMessageColumns) == kMessageColumnCount &&
              column_count(kPgDeliveryColumns) == kDeliveryColumnCount);

}  // namespace ferry
