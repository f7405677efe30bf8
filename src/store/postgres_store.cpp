#include "store/postgres_store.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <type_traits>
#include <utility>

#include "store/attempt_stats_sql.hpp"
#include "store/backend_support.hpp"
#include "store/postgres_connection.hpp"
#include "store/postgres_listener.hpp"
#include "store/postgres_migrations.hpp"
#include "store/postgres_partitions.hpp"
#include "store/postgres_publish.hpp"
#include "store/postgres_rows.hpp"
#include "store/postgres_stats.hpp"

namespace ferry {

namespace {

constexpr std::string_view kStoreName = "postgres store";
// A publish that keeps meeting keys inserted concurrently by other nodes
// runs again; each round sees the keys of the one before, so this is plenty.
constexpr int kPublishRounds = 8;
// Partitions made ready ahead of time, in days around today.
constexpr std::int64_t kPartitionDaysBehind = 1;
constexpr std::int64_t kPartitionDaysAhead = 7;
// "no partition of relation ... found for row": another process dropped a
// partition this one thought was there.
constexpr std::string_view kCheckViolation = "23514";

std::string random_node_id() {
  std::random_device device;
  std::uniform_int_distribution<std::uint64_t> bits;
  const std::uint64_t value = bits(device) ^ (static_cast<std::uint64_t>(SystemClock().now_ms()) << 20);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(value));
  return hex;
}

std::set<std::int64_t> window_days(UnixMillis now_ms) {
  std::set<std::int64_t> days;
  const std::int64_t today = pg_day_of(now_ms);
  for (std::int64_t day = today - kPartitionDaysBehind; day <= today + kPartitionDaysAhead; ++day) days.insert(day);
  return days;
}

// --- query helpers

template <class Read>
using RowOf = std::invoke_result_t<Read&, const PgRow&, int>;

template <class Read>
Result<std::optional<RowOf<Read>>> query_one(PgConnection& db, std::string_view sql, const PgParams& params,
                                             Read read) {
  auto result = db.query(sql, params);
  if (!result) return result.error();
  if (result->rows() == 0) return std::optional<RowOf<Read>>();
  return std::optional<RowOf<Read>>(read(PgRow(*result, 0), 0));
}

template <class Read>
Result<std::vector<RowOf<Read>>> query_all(PgConnection& db, std::string_view sql, const PgParams& params, Read read) {
  auto result = db.query(sql, params);
  if (!result) return result.error();
  std::vector<RowOf<Read>> rows;
  rows.reserve(static_cast<std::size_t>(result->rows()));
  for (int row = 0; row < result->rows(); ++row) rows.push_back(read(PgRow(*result, row), 0));
  return rows;
}

// Runs an UPDATE or DELETE that must touch a row; touching none means the
// row is not visible (missing, or in another workspace).
Status run_on_row(PgConnection& db, std::string_view sql, const PgParams& params, std::string_view what) {
  auto result = db.query(sql, params);
  if (!result) return result.error();
  if (result->affected() == 0) return not_found(what);
  return {};
}

PgParams params_of(std::string_view first) {
  PgParams params;
  params.text(first);
  return params;
}

PgParams params_of(std::string_view first, std::string_view second) {
  PgParams params;
  params.text(first).text(second);
  return params;
}

// Numbered like the fixed statements: $1, $2, ...
using FilteredQuery = BasicFilteredQuery<'$'>;

template <class Read>
Result<Page<RowOf<Read>>> query_page(PgConnection& db, FilteredQuery query, std::string_view id_column,
                                     const PageRequest& request, Read read) {
  query.page(id_column, request);
  PgParams params;
  query.bind(params);
  return page_of(query_all(db, query.sql(), params, read), request);
}

// --- parents of listed rows

constexpr std::string_view kWorkspaceExists = "SELECT 1 FROM workspaces WHERE id = $1";
constexpr std::string_view kEndpointExists = "SELECT 1 FROM endpoints WHERE workspace_id = $1 AND id = $2";
constexpr std::string_view kMessageExists = "SELECT 1 FROM messages WHERE workspace_id = $1 AND id = $2 LIMIT 1";
constexpr std::string_view kDeliveryExists = "SELECT 1 FROM deliveries WHERE workspace_id = $1 AND id = $2";

Parent workspace_parent(std::string_view workspace_id) {
  return {kWorkspaceExists, workspace_id, std::nullopt, "workspace"};
}

template <class List>
Result<List> with_parent(PgConnection& db, Result<List> list, const Parent& parent) {
  return check_parent(std::move(list), parent, [&]() -> Result<bool> {
    PgParams params;
    parent.bind(params);
    auto found = db.query(parent.exists_sql, params);
    if (!found) return found.error();
    return found->rows() > 0;
  });
}

// --- SQL, by table

const std::string kNotify = cat("SELECT pg_notify('", kPgChangesChannel, "', $1)");

const std::string kInsertWorkspace =
    "INSERT INTO workspaces (id, name, catalog, profile, validate_payloads, test_mode, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const std::string kSelectWorkspace = cat("SELECT ", kPgWorkspaceColumns, " FROM workspaces w WHERE w.id = $1");
const std::string kSelectWorkspaces = cat("SELECT ", kPgWorkspaceColumns, " FROM workspaces w");
// created_at ($7) is bound but immutable.
const std::string kUpdateWorkspace =
    cat("UPDATE workspaces w SET name = $2, catalog = $3, profile = $4, validate_payloads = $5, test_mode = $6, "
        "updated_at = $8 WHERE w.id = $1 RETURNING ",
        kPgWorkspaceColumns);
const std::string kDeleteWorkspace = "DELETE FROM workspaces WHERE id = $1";

const std::string kInsertApiKey =
    "INSERT INTO api_keys (workspace_id, id, name, token_prefix, token_hash, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6)";
const std::string kSelectApiKeyByHash = cat("SELECT ", kPgApiKeyColumns, " FROM api_keys k WHERE k.token_hash = $1");
const std::string kSelectApiKeys =
    cat("SELECT ", kPgApiKeyColumns, " FROM api_keys k WHERE k.workspace_id = $1 ORDER BY k.id");
const std::string kDeleteApiKey = "DELETE FROM api_keys WHERE workspace_id = $1 AND id = $2";

const std::string kInsertEndpoint =
    cat("INSERT INTO endpoints AS e (workspace_id, id, url, description, secrets, filter_types, profile, headers, "
        "rate_limit, enabled, disabled_reason, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ",
        kPgEndpointColumns);
const std::string kSelectEndpoint =
    cat("SELECT ", kPgEndpointColumns, " FROM endpoints e WHERE e.workspace_id = $1 AND e.id = $2");
const std::string kSelectEndpoints = cat("SELECT ", kPgEndpointColumns, " FROM endpoints e");
const std::string kSelectAllEndpoints =
    cat("SELECT ", kPgEndpointColumns, " FROM endpoints e ORDER BY e.workspace_id, e.id");
// created_at ($12) is bound but immutable.
const std::string kUpdateEndpoint =
    cat("UPDATE endpoints e SET url = $3, description = $4, secrets = $5, filter_types = $6, profile = $7, "
        "headers = $8, rate_limit = $9, enabled = $10, disabled_reason = $11, updated_at = $13 "
        "WHERE e.workspace_id = $1 AND e.id = $2 RETURNING ",
        kPgEndpointColumns);
const std::string kDisableEndpoint =
    "UPDATE endpoints SET enabled = false, disabled_reason = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2";
const std::string kDeleteEndpoint = "DELETE FROM endpoints WHERE workspace_id = $1 AND id = $2";
// $4: a delivery to leave alone, or NULL for none. A failed delivery keeps no lease.
const std::string kFailOpenDeliveries =
    "UPDATE deliveries SET state = 'failed', leased_until = NULL, updated_at = $3 "
    "WHERE workspace_id = $1 AND endpoint_id = $2 AND state IN ('pending', 'retrying') AND id IS DISTINCT FROM $4";

// A re-registered type keeps the time it was first registered.
const std::string kUpsertEventType =
    cat("INSERT INTO event_types AS t (catalog, name, group_name, description, schema_json, examples, flags, "
        "archived, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
        "ON CONFLICT (catalog, name) DO UPDATE SET group_name = excluded.group_name, "
        "description = excluded.description, schema_json = excluded.schema_json, examples = excluded.examples, "
        "flags = excluded.flags, archived = excluded.archived, updated_at = excluded.updated_at RETURNING ",
        kPgEventTypeColumns);
const std::string kSelectEventType =
    cat("SELECT ", kPgEventTypeColumns, " FROM event_types t WHERE t.catalog = $1 AND t.name = $2");
const std::string kSelectEventTypes =
    cat("SELECT ", kPgEventTypeColumns, " FROM event_types t ORDER BY t.catalog, t.name");

// A catalog loaded again keeps the time it was first loaded.
const std::string kUpsertCatalog =
    cat("INSERT INTO catalogs AS c (name, document, created_at, updated_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (name) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at "
        "RETURNING ",
        kPgCatalogColumns);
const std::string kSelectCatalog = cat("SELECT ", kPgCatalogColumns, " FROM catalogs c WHERE c.name = $1");
const std::string kSelectCatalogs = cat("SELECT ", kPgCatalogColumns, " FROM catalogs c ORDER BY c.name");

// Without created_at every partition is probed, each through its primary key.
const std::string kSelectMessage =
    cat("SELECT ", kPgMessageColumns, " FROM messages m WHERE m.workspace_id = $1 AND m.id = $2");
const std::string kSelectMessages = cat("SELECT ", kPgMessageColumns, " FROM messages m");
// Listings filtered by delivery (see message_walk): the deliveries' index in
// message id order drives, DISTINCT ON giving one row per message along that
// order. Each message is looked up in its own partition (message_created_at)
// by a LATERAL ... LIMIT 1: as a plain join, the planner multiplies the
// three key columns' selectivities, expects about one row in all, and hashes
// every message of the workspace instead of stopping after a page.
const std::string kSelectMessagesByDelivery =
    cat("SELECT DISTINCT ON (d.message_id) ", kPgMessageColumns,
        " FROM deliveries d CROSS JOIN LATERAL (SELECT * FROM messages m WHERE m.workspace_id = d.workspace_id"
        " AND m.id = d.message_id AND m.created_at = d.message_created_at LIMIT 1) m");

const std::string kSelectDelivery =
    cat("SELECT ", kPgDeliveryColumns, " FROM deliveries d WHERE d.workspace_id = $1 AND d.id = $2");
const std::string kSelectDeliveries = cat("SELECT ", kPgDeliveryColumns, " FROM deliveries d");
const std::string kSelectDeliveriesOfMessage =
    cat(kSelectDeliveries, " WHERE d.workspace_id = $1 AND d.message_id = $2 ORDER BY d.id");
// Walks deliveries_due (state IN ... matches the partial index's predicate)
// oldest due first and stops after `limit` rows. The endpoint is checked by
// a scalar subquery, which the planner never turns into a join: with a join
// it may start from the few endpoints and sort every open delivery instead.
// FOR UPDATE SKIP LOCKED: rows another claimer is taking right now are
// passed over, not waited for, and a row leased meanwhile fails the re-check
// of the WHERE clause; so no delivery is claimed twice.
constexpr std::string_view kEndpointEnabled =
    "(SELECT e.enabled FROM endpoints e WHERE e.workspace_id = d.workspace_id AND e.id = d.endpoint_id)";
// The end of both claims: leases the rows of the CTE `due` (lease until $4)
// and reads them with their messages and endpoints.
const std::string kLeaseDueAndRead =
    cat("), leased AS ("
        " UPDATE deliveries d SET leased_until = $4, lease_token = d.lease_token + 1"
        " FROM due WHERE d.workspace_id = due.workspace_id AND d.id = due.id"
        " RETURNING d.*"
        ") SELECT ",
        kPgDeliveryColumns, ", ", kPgMessageColumns, ", ", kPgEndpointColumns,
        " FROM leased d"
        " JOIN endpoints e ON e.workspace_id = d.workspace_id AND e.id = d.endpoint_id"
        " JOIN messages m ON m.workspace_id = d.workspace_id AND m.id = d.message_id"
        " AND m.created_at = d.message_created_at"
        " ORDER BY d.next_attempt_at");
const std::string kClaimDue =
    cat("WITH due AS ("
        " SELECT d.workspace_id, d.id FROM deliveries d"
        " WHERE d.state IN ('pending', 'retrying') AND d.next_attempt_at <= $1"
        " AND (d.leased_until IS NULL OR d.leased_until <= $1)"
        " AND d.endpoint_id <> ALL ($2::text[]) AND ",
        kEndpointEnabled,
        " ORDER BY d.next_attempt_at LIMIT $3"
        " FOR UPDATE OF d SKIP LOCKED",
        kLeaseDueAndRead);
const std::string kClaimByKey = cat(
    "WITH due AS ("
    " SELECT d.workspace_id, d.id FROM deliveries d"
    " JOIN unnest($1::text[], $2::text[]) AS u (workspace_id, id) ON d.workspace_id = u.workspace_id AND d.id = u.id"
    " WHERE d.state IN ('pending', 'retrying') AND d.next_attempt_at <= $3"
    " AND (d.leased_until IS NULL OR d.leased_until <= $3) AND ",
    kEndpointEnabled, " FOR UPDATE OF d SKIP LOCKED", kLeaseDueAndRead);
const std::string kNextDue =
    cat("SELECT d.next_attempt_at FROM deliveries d"
        " WHERE d.state IN ('pending', 'retrying') AND d.leased_until IS NULL AND ",
        kEndpointEnabled, " ORDER BY d.next_attempt_at LIMIT 1");
// Each count stops at $2 rows of deliveries_due (the partial index of open
// deliveries, ordered by next_attempt_at): bounded whatever the store holds.
const std::string kCountOpen =
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM deliveries"
    " WHERE state IN ('pending', 'retrying') AND next_attempt_at <= $1 LIMIT $2) AS due),"
    " (SELECT count(*) FROM (SELECT 1 FROM deliveries"
    " WHERE state IN ('pending', 'retrying') AND next_attempt_at > $1 LIMIT $2) AS later)";
// Locked in key order, so concurrent writers of the same deliveries queue
// instead of deadlocking.
const std::string kLockDeliveries =
    "SELECT d.workspace_id, d.id, d.lease_token FROM deliveries d "
    "JOIN unnest($1::text[], $2::text[]) AS u (workspace_id, id) ON d.workspace_id = u.workspace_id AND d.id = u.id "
    "ORDER BY d.workspace_id, d.id FOR NO KEY UPDATE OF d";
const std::string kLockEndpoints =
    "SELECT 1 FROM endpoints e "
    "JOIN unnest($1::text[], $2::text[]) AS u (workspace_id, id) ON e.workspace_id = u.workspace_id AND e.id = u.id "
    "ORDER BY e.workspace_id, e.id FOR NO KEY UPDATE OF e";
// next_attempt_at only means something for open states; a finished delivery
// keeps its last one. The lease_token check is the guard against a takeover.
const std::string kRecordDeliveries =
    "UPDATE deliveries d SET state = u.state, attempt_count = u.attempt_count,"
    " next_attempt_at = CASE WHEN u.state IN ('pending', 'retrying') THEN u.next_attempt_at ELSE d.next_attempt_at END,"
    " leased_until = NULL, updated_at = u.updated_at"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[])"
    " AS u (workspace_id, id, state, attempt_count, next_attempt_at, updated_at, lease_token)"
    " WHERE d.workspace_id = u.workspace_id AND d.id = u.id AND d.lease_token = u.lease_token";
const std::string kInsertAttempts =
    "INSERT INTO attempts (workspace_id, id, delivery_id, message_id, endpoint_id, attempt_number, started_at, "
    "latency_us, url, request_headers, response_status, response_headers, response_body, error, error_detail) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[], "
    "$8::int8[], $9::text[], $10::text[], $11::int8[], $12::text[], $13::bytea[], $14::text[], $15::text[])";
const std::string kReleaseLeases =
    "UPDATE deliveries d SET leased_until = NULL FROM unnest($1::text[], $2::text[]) AS u (workspace_id, id) "
    "WHERE d.workspace_id = u.workspace_id AND d.id = u.id AND d.state IN ('pending', 'retrying') "
    "AND d.leased_until IS NOT NULL";
const std::string kResendDelivery =
    cat("UPDATE deliveries d SET state = 'pending', next_attempt_at = $3, leased_until = NULL, updated_at = $3 "
        "WHERE d.workspace_id = $1 AND d.id = $2 RETURNING ",
        kPgDeliveryColumns);

// One batch of a recovery, as kResendDelivery does each: the next $8 failed
// deliveries of the endpoint created in [$3, $4), oldest first, after the
// previous batch's last (created_at, id) = ($5, $6), along the partial index
// deliveries_failed_by_endpoint.
const std::string kRecoverDeliveries =
    "UPDATE deliveries d SET state = 'pending', next_attempt_at = $7, leased_until = NULL, updated_at = $7 "
    "FROM (SELECT workspace_id, id FROM deliveries WHERE workspace_id = $1 AND endpoint_id = $2 AND state = 'failed' "
    "AND created_at >= $3 AND created_at < $4 AND (created_at, id) > ($5, $6) ORDER BY created_at, id LIMIT $8 "
    "FOR UPDATE) AS x WHERE d.workspace_id = x.workspace_id AND d.id = x.id RETURNING d.created_at, d.id";
// FOR SHARE: a concurrent disabling waits for the batch, then fails what it made due.
const std::string kEndpointEnabledForShare =
    "SELECT enabled FROM endpoints WHERE workspace_id = $1 AND id = $2 FOR SHARE";

const std::string kSelectAttempts = cat("SELECT ", kPgAttemptColumns, " FROM attempts a");
const std::string kSelectAttemptsOfMessage =
    cat(kSelectAttempts, " WHERE a.workspace_id = $1 AND a.message_id = $2 ORDER BY a.id");
const std::string kSelectAttemptsOfDelivery =
    cat(kSelectAttempts, " WHERE a.workspace_id = $1 AND a.delivery_id = $2 ORDER BY a.id");

// Statistics (store/attempt_stats_sql.hpp). The planner takes a range of
// the primary key per endpoint, or the window's range of
// attempt_stats_minute, whichever its statistics find cheaper: either reads
// the window's rows only, never the workspace's whole history.
const std::string kSelectStats = stats_select_sql('$', "JOIN", false);
const std::string kSelectEndpointStats = stats_select_sql('$', "JOIN", true);
// The window's days only (partition pruning), along messages_created or the
// primary key, whichever the planner finds cheaper.
const std::string kCountMessages =
    "SELECT $2 + ((created_at - $2) / $4) * $4 AS start, count(*) FROM messages "
    "WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY start ORDER BY start";

// Retention, a bounded batch per statement (each its own transaction).
const std::string kDeleteExpiredStats =
    "DELETE FROM attempt_stats s USING (SELECT workspace_id, endpoint_id, minute_ms FROM attempt_stats "
    "WHERE minute_ms < $1 LIMIT $2) AS x "
    "WHERE s.workspace_id = x.workspace_id AND s.endpoint_id = x.endpoint_id AND s.minute_ms = x.minute_ms";
const std::string kDeleteExpiredDeliveries =
    "DELETE FROM deliveries d USING (SELECT workspace_id, id FROM deliveries WHERE message_created_at < $1 LIMIT $2) "
    "AS x WHERE d.workspace_id = x.workspace_id AND d.id = x.id";
const std::string kDeleteExpiredKeys =
    "DELETE FROM message_keys k USING (SELECT workspace_id, key FROM message_keys WHERE created_at < $1 LIMIT $2) "
    "AS x WHERE k.workspace_id = x.workspace_id AND k.key = x.key";
const std::string kDeleteExpiredMessages =
    "DELETE FROM messages m USING (SELECT workspace_id, id, created_at FROM messages WHERE created_at < $1 "
    "ORDER BY created_at LIMIT $2) AS x "
    "WHERE m.workspace_id = x.workspace_id AND m.id = x.id AND m.created_at = x.created_at";
const std::string kIsEmpty =
    "SELECT NOT (EXISTS (SELECT 1 FROM workspaces) OR EXISTS (SELECT 1 FROM event_types) "
    "OR EXISTS (SELECT 1 FROM catalogs))";

// --- single-row fetches shared by gets and by writes that return the row

Result<Workspace> fetch_workspace(PgConnection& db, std::string_view id) {
  return require(query_one(db, kSelectWorkspace, params_of(id), read_workspace), "workspace");
}

Result<Endpoint> fetch_endpoint(PgConnection& db, std::string_view workspace_id, std::string_view id) {
  return require(query_one(db, kSelectEndpoint, params_of(workspace_id, id), read_endpoint), "endpoint");
}

Result<Delivery> fetch_delivery(PgConnection& db, std::string_view workspace_id, std::string_view id) {
  return require(query_one(db, kSelectDelivery, params_of(workspace_id, id), read_delivery), "delivery");
}

Status notify(PgConnection& db, const std::string& payload) {
  PgParams params;
  params.text(payload);
  return db.exec(kNotify, params);
}

Status fail_open_deliveries(PgConnection& db, std::string_view workspace_id, std::string_view endpoint_id,
                            UnixMillis now_ms, const std::optional<std::string>& except_delivery_id) {
  PgParams params;
  params.text(workspace_id).text(endpoint_id).integer(now_ms).optional_text(except_delivery_id);
  return db.exec(kFailOpenDeliveries, params);
}

// --- delivering

UnixMillis finished_at(const Attempt& attempt) { return attempt.started_at_ms + attempt.latency_us / 1000; }

// Delivery moves of recorded attempts, as parameters of kRecordDeliveries.
PgParams delivery_moves(std::span<const AttemptRecord* const> records) {
  PgArray workspaces(pg_type::text), ids(pg_type::text), states(pg_type::text), counts(pg_type::int8),
      next(pg_type::int8), updated(pg_type::int8), tokens(pg_type::int8);
  for (const AttemptRecord* record : records) {
    workspaces.text(record->attempt.workspace_id);
    ids.text(record->attempt.delivery_id);
    states.text(delivery_state_name(record->new_state));
    counts.integer(record->attempt.attempt_number);
    next.integer(record->next_attempt_at_ms);
    updated.integer(finished_at(record->attempt));
    tokens.integer(record->lease_token);
  }
  PgParams params;
  params.array(workspaces).array(ids).array(states).array(counts).array(next).array(updated).array(tokens);
  return params;
}

PgParams attempt_rows(std::span<const AttemptRecord* const> records) {
  PgArray workspaces(pg_type::text), ids(pg_type::text), deliveries(pg_type::text), messages(pg_type::text),
      endpoints(pg_type::text), numbers(pg_type::int8), started(pg_type::int8), latency(pg_type::int8),
      urls(pg_type::text), request_headers(pg_type::text), statuses(pg_type::int8), response_headers(pg_type::text),
      bodies(pg_type::bytea), errors(pg_type::text), details(pg_type::text);
  for (const AttemptRecord* record : records) {
    const Attempt& attempt = record->attempt;
    workspaces.text(attempt.workspace_id);
    ids.text(attempt.id);
    deliveries.text(attempt.delivery_id);
    messages.text(attempt.message_id);
    endpoints.text(attempt.endpoint_id);
    numbers.integer(attempt.attempt_number);
    started.integer(attempt.started_at_ms);
    latency.integer(attempt.latency_us);
    urls.text(attempt.url);
    request_headers.text(encode_headers(attempt.request_headers));
    if (attempt.response_status) {
      statuses.integer(*attempt.response_status);
    } else {
      statuses.null();
    }
    response_headers.text(encode_headers(attempt.response_headers));
    bodies.text(attempt.response_body);
    errors.text(attempt.error);
    details.text(attempt.error_detail);
  }
  PgParams params;
  params.array(workspaces)
      .array(ids)
      .array(deliveries)
      .array(messages)
      .array(endpoints)
      .array(numbers)
      .array(started)
      .array(latency)
      .array(urls)
      .array(request_headers)
      .array(statuses)
      .array(response_headers)
      .array(bodies)
      .array(errors)
      .array(details);
  return params;
}

// Keys (workspace_id, id) as $1 and $2, two text arrays that
// unnest($1::text[], $2::text[]) pairs up again.
template <class Keys>
PgParams key_arrays(const Keys& keys) {
  PgArray workspaces(pg_type::text);
  PgArray ids(pg_type::text);
  for (const auto& [workspace_id, id] : keys) {
    workspaces.text(workspace_id);
    ids.text(id);
  }
  PgParams params;
  params.array(workspaces).array(ids);
  return params;
}

Status move_deliveries(PgConnection& db, std::span<const AttemptRecord* const> records) {
  if (records.empty()) return {};
  return db.exec(kRecordDeliveries, delivery_moves(records));
}

Status insert_attempts(PgConnection& db, std::span<const AttemptRecord* const> records) {
  if (records.empty()) return {};
  if (auto inserted = db.exec(kInsertAttempts, attempt_rows(records)); !inserted) {
    return explain(inserted.error(), "attempt", "delivery");
  }
  return {};
}

// The stored attempts, added to the statistics' rollup.
Status add_stats(PgConnection& db, std::span<const AttemptRecord* const> records) {
  AttemptRollup rollup;
  for (const AttemptRecord* record : records) add_to_rollup(rollup, record->attempt);
  return upsert_pg_stats(db, rollup);
}

Status disable_endpoint(PgConnection& db, const AttemptRecord& record, std::string_view node_id) {
  const Attempt& attempt = record.attempt;
  const UnixMillis now_ms = finished_at(attempt);
  PgParams params;
  params.text(attempt.workspace_id).text(attempt.endpoint_id).text(*record.disable_endpoint_reason).integer(now_ms);
  if (auto disabled = db.exec(kDisableEndpoint, params); !disabled) return disabled;
  // The attempt's own delivery already took the state its record asked for.
  if (auto failed = fail_open_deliveries(db, attempt.workspace_id, attempt.endpoint_id, now_ms, attempt.delivery_id);
      !failed) {
    return failed;
  }
  return notify(db, pg_endpoints_changed_payload(node_id, attempt.workspace_id));
}

// Writes the records inside the caller's transaction.
Status record_in(PgConnection& db, std::span<const AttemptRecord> records, std::string_view node_id) {
  // Endpoints to disable first, then deliveries: the order update_endpoint
  // and delete_endpoint take them in.
  std::set<std::pair<std::string, std::string>> disabling;
  std::set<std::pair<std::string, std::string>> delivery_refs;
  for (const auto& record : records) {
    if (record.disable_endpoint_reason) disabling.insert({record.attempt.workspace_id, record.attempt.endpoint_id});
    delivery_refs.insert({record.attempt.workspace_id, record.attempt.delivery_id});
  }
  if (!disabling.empty()) {
    if (auto locked = db.exec(kLockEndpoints, key_arrays(disabling)); !locked) return locked;
  }
  auto locked = db.query(kLockDeliveries, key_arrays(delivery_refs));
  if (!locked) return locked.error();
  std::map<std::pair<std::string, std::string>, std::int64_t> tokens;
  for (int row = 0; row < locked->rows(); ++row) {
    tokens[{locked->text(row, 0), locked->text(row, 1)}] = locked->integer(row, 2);
  }

  // A record whose delivery is gone (deleted with its endpoint or workspace
  // while the attempt was in flight) has nothing left to attach to. Every
  // other attempt is stored; the delivery only moves under its claim's token.
  std::vector<const AttemptRecord*> kept;
  std::vector<const AttemptRecord*> moving;
  for (const auto& record : records) {
    auto token = tokens.find({record.attempt.workspace_id, record.attempt.delivery_id});
    if (token == tokens.end()) continue;
    kept.push_back(&record);
    if (token->second == record.lease_token) moving.push_back(&record);
  }
  const bool sequential = !disabling.empty() || delivery_refs.size() != records.size();
  if (!sequential) {
    if (auto moved = move_deliveries(db, moving); !moved) return moved;
    if (auto inserted = insert_attempts(db, kept); !inserted) return inserted;
    return add_stats(db, kept);
  }
  // Rare: an endpoint to disable, or one delivery twice. One record at a
  // time, so each sees what the ones before it did, as on SQLite.
  for (const AttemptRecord* record : kept) {
    std::span<const AttemptRecord* const> one(&record, 1);
    if (std::find(moving.begin(), moving.end(), record) != moving.end()) {
      if (auto moved = move_deliveries(db, one); !moved) return moved;
    }
    if (auto inserted = insert_attempts(db, one); !inserted) return inserted;
    if (record->disable_endpoint_reason) {
      if (auto disabled = disable_endpoint(db, *record, node_id); !disabled) return disabled;
    }
  }
  return add_stats(db, kept);
}

}  // namespace

// --- plumbing

template <class Body>
auto PostgresStore::with_connection(Body&& body) {
  using R = std::invoke_result_t<Body&, PgConnection&>;
  return guarded<R>(kStoreName, [&]() -> R {
    for (int round = 0;; ++round) {
      auto lease = pool_->acquire();
      if (!lease) return lease.error();
      R result = body(lease->connection());
      if (!result && round == 0 && lease->connection().lost_before_any_work()) continue;
      return result;
    }
  });
}

template <class Body>
auto PostgresStore::write(Body&& body) {
  using R = std::invoke_result_t<Body&, PgConnection&>;
  return with_connection([&](PgConnection& db) -> R {
    auto transaction = PgTransaction::begin(db);
    if (!transaction) return transaction.error();
    R result = body(db);
    if (!result) return result;  // the transaction's destructor rolls back
    if (auto committed = transaction->commit(); !committed) return committed.error();
    return result;
  });
}

PostgresStore::PostgresStore(PostgresOptions options, std::unique_ptr<PgPool> pool, std::string node_id)
    : options_(std::move(options)),
      pool_(std::move(pool)),
      partitions_(std::make_unique<PgPartitions>()),
      node_id_(std::move(node_id)) {}

PostgresStore::~PostgresStore() {
  std::lock_guard lock(listener_mutex_);
  listener_.reset();  // joins the listener before the pool goes
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const PostgresOptions& options) {
  using R = Result<std::unique_ptr<PostgresStore>>;
  return guarded<R>(kStoreName, [&]() -> R {
    if (options.url.empty()) return make_error(ErrorCode::bad_request, "postgres store: needs a database URL");
    auto pool = std::make_unique<PgPool>(PgConnectOptions{options.url, options.connect_timeout}, options.pool_size,
                                         options.acquire_timeout);
    auto lease = pool->acquire();
    if (!lease) return lease.error();
    const UnixMillis now_ms = SystemClock().now_ms();
    if (auto migrated = apply_postgres_migrations(lease->connection(), now_ms); !migrated) return migrated.error();
    std::unique_ptr<PostgresStore> store(new PostgresStore(options, std::move(pool), random_node_id()));
    // Publishes of today and the next days find their partition ready.
    for (std::string_view table : {kPgMessagesTable, kPgAttemptsTable}) {
      if (auto ensured = store->partitions_->ensure(lease->connection(), table, window_days(now_ms)); !ensured) {
        return ensured.error();
      }
    }
    return store;
  });
}

// --- workspaces

Result<Workspace> PostgresStore::create_workspace(const Workspace& workspace) {
  return with_connection([&](PgConnection& db) -> Result<Workspace> {
    PgParams params;
    bind_workspace(params, workspace);
    if (auto inserted = db.exec(kInsertWorkspace, params); !inserted) {
      return explain(inserted.error(), "workspace", "workspace");
    }
    return workspace;
  });
}

Result<Workspace> PostgresStore::get_workspace(std::string_view id) {
  return with_connection([&](PgConnection& db) { return fetch_workspace(db, id); });
}

Result<Page<Workspace>> PostgresStore::list_workspaces(const PageRequest& page) {
  return with_connection(
      [&](PgConnection& db) { return query_page(db, FilteredQuery(kSelectWorkspaces), "w.id", page, read_workspace); });
}

// Other nodes keep a workspace's settings with its endpoints, so a change
// is announced the same way.
Result<Workspace> PostgresStore::update_workspace(const Workspace& workspace) {
  return write([&](PgConnection& db) -> Result<Workspace> {
    PgParams params;
    bind_workspace(params, workspace);
    auto updated = require(query_one(db, kUpdateWorkspace, params, read_workspace), "workspace");
    if (!updated) return updated;
    if (auto notified = notify(db, pg_endpoints_changed_payload(node_id_, workspace.id)); !notified) {
      return notified.error();
    }
    return updated;
  });
}

Status PostgresStore::delete_workspace(std::string_view id) {
  return write([&](PgConnection& db) -> Status {
    if (auto deleted = run_on_row(db, kDeleteWorkspace, params_of(id), "workspace"); !deleted) return deleted;
    return notify(db, pg_endpoints_changed_payload(node_id_, id));
  });
}

// --- API keys

Result<ApiKey> PostgresStore::create_api_key(const ApiKey& key) {
  return with_connection([&](PgConnection& db) -> Result<ApiKey> {
    PgParams params;
    bind_api_key(params, key);
    if (auto inserted = db.exec(kInsertApiKey, params); !inserted) {
      return explain(inserted.error(), "API key", "workspace");
    }
    return key;
  });
}

Result<ApiKey> PostgresStore::find_api_key_by_hash(std::string_view token_hash) {
  return with_connection([&](PgConnection& db) {
    return require(query_one(db, kSelectApiKeyByHash, params_of(token_hash), read_api_key), "API key");
  });
}

Result<std::vector<ApiKey>> PostgresStore::list_api_keys(std::string_view workspace_id) {
  return with_connection([&](PgConnection& db) {
    return with_parent(db, query_all(db, kSelectApiKeys, params_of(workspace_id), read_api_key),
                       workspace_parent(workspace_id));
  });
}

Status PostgresStore::delete_api_key(std::string_view workspace_id, std::string_view key_id) {
  return with_connection(
      [&](PgConnection& db) { return run_on_row(db, kDeleteApiKey, params_of(workspace_id, key_id), "API key"); });
}

// --- endpoints

Result<Endpoint> PostgresStore::create_endpoint(const Endpoint& endpoint) {
  return write([&](PgConnection& db) -> Result<Endpoint> {
    PgParams params;
    bind_endpoint(params, endpoint);
    auto created = require(query_one(db, kInsertEndpoint, params, read_endpoint), "endpoint");
    if (!created) return explain(created.error(), "endpoint", "workspace");
    if (auto notified = notify(db, pg_endpoints_changed_payload(node_id_, endpoint.workspace_id)); !notified) {
      return notified.error();
    }
    return created;
  });
}

Result<Endpoint> PostgresStore::get_endpoint(std::string_view workspace_id, std::string_view endpoint_id) {
  return with_connection([&](PgConnection& db) { return fetch_endpoint(db, workspace_id, endpoint_id); });
}

Result<Page<Endpoint>> PostgresStore::list_endpoints(std::string_view workspace_id, const PageRequest& page) {
  return with_connection([&](PgConnection& db) {
    FilteredQuery query(kSelectEndpoints);
    query.where("e.workspace_id =", workspace_id);
    return with_parent(db, query_page(db, std::move(query), "e.id", page, read_endpoint),
                       workspace_parent(workspace_id));
  });
}

Result<std::vector<Endpoint>> PostgresStore::list_all_endpoints() {
  return with_connection([&](PgConnection& db) { return query_all(db, kSelectAllEndpoints, {}, read_endpoint); });
}

Result<Endpoint> PostgresStore::update_endpoint(const Endpoint& endpoint) {
  return write([&](PgConnection& db) -> Result<Endpoint> {
    PgParams params;
    bind_endpoint(params, endpoint);
    auto updated = require(query_one(db, kUpdateEndpoint, params, read_endpoint), "endpoint");
    if (!updated) return updated;
    if (!endpoint.enabled) {
      auto failed = fail_open_deliveries(db, endpoint.workspace_id, endpoint.id, endpoint.updated_at_ms, std::nullopt);
      if (!failed) return failed.error();
    }
    if (auto notified = notify(db, pg_endpoints_changed_payload(node_id_, endpoint.workspace_id)); !notified) {
      return notified.error();
    }
    return updated;
  });
}

Status PostgresStore::delete_endpoint(std::string_view workspace_id, std::string_view endpoint_id) {
  return write([&](PgConnection& db) -> Status {
    if (auto deleted = run_on_row(db, kDeleteEndpoint, params_of(workspace_id, endpoint_id), "endpoint"); !deleted) {
      return deleted;
    }
    return notify(db, pg_endpoints_changed_payload(node_id_, workspace_id));
  });
}

// --- event types

Result<CatalogDocument> PostgresStore::upsert_catalog(const CatalogDocument& catalog) {
  return write([&](PgConnection& db) -> Result<CatalogDocument> {
    PgParams params;
    bind_catalog(params, catalog);
    auto saved = require(query_one(db, kUpsertCatalog, params, read_catalog), "catalog");
    if (!saved) return saved;
    if (auto notified = notify(db, pg_catalogs_changed_payload(node_id_)); !notified) return notified.error();
    return saved;
  });
}

Result<CatalogDocument> PostgresStore::get_catalog(std::string_view name) {
  return with_connection([&](PgConnection& db) {
    return require(query_one(db, kSelectCatalog, params_of(name), read_catalog), "catalog");
  });
}

Result<std::vector<CatalogDocument>> PostgresStore::list_catalogs() {
  return with_connection([&](PgConnection& db) { return query_all(db, kSelectCatalogs, {}, read_catalog); });
}

Result<EventType> PostgresStore::upsert_event_type(const EventType& type) {
  return write([&](PgConnection& db) -> Result<EventType> {
    PgParams params;
    bind_event_type(params, type);
    auto saved = require(query_one(db, kUpsertEventType, params, read_event_type), "event type");
    if (!saved) return saved;
    if (auto notified = notify(db, pg_catalogs_changed_payload(node_id_)); !notified) return notified.error();
    return saved;
  });
}

Result<EventType> PostgresStore::get_event_type(std::string_view catalog, std::string_view name) {
  return with_connection([&](PgConnection& db) {
    return require(query_one(db, kSelectEventType, params_of(catalog, name), read_event_type), "event type");
  });
}

Result<std::vector<EventType>> PostgresStore::list_event_types() {
  return with_connection([&](PgConnection& db) { return query_all(db, kSelectEventTypes, {}, read_event_type); });
}

// --- messages

Result<std::vector<PublishOutcome>> PostgresStore::publish(std::span<const PublishRequest> requests, UnixMillis now_ms,
                                                           UnixMillis idempotency_window_ms) {
  using R = Result<std::vector<PublishOutcome>>;
  if (requests.empty()) return std::vector<PublishOutcome>();
  std::set<std::int64_t> days;
  for (const auto& request : requests) days.insert(pg_day_of(request.message.created_at_ms));
  return with_connection([&](PgConnection& db) -> R {
    bool partitions_checked = false;
    for (int round = 1;; ++round) {
      if (auto ensured = partitions_->ensure(db, kPgMessagesTable, days); !ensured) return ensured.error();
      auto transaction = PgTransaction::begin(db);
      if (!transaction) return transaction.error();
      auto published = publish_pg_batch(db, requests, now_ms, idempotency_window_ms, node_id_);
      if (!published) {
        if (!partitions_checked && db.last_sqlstate() == kCheckViolation) {
          partitions_checked = true;
          partitions_->forget(kPgMessagesTable);
          continue;
        }
        return published.error();
      }
      if (!*published) {
        // Another node inserted one of our ids or keys meanwhile: run the
        // batch again, it will find that key and answer duplicate.
        if (round < kPublishRounds) continue;
        return make_error(ErrorCode::unavailable, "postgres store: publish kept racing with other nodes");
      }
      if (auto committed = transaction->commit(); !committed) return committed.error();
      return std::move(**published);
    }
  });
}

Result<Message> PostgresStore::get_message(std::string_view workspace_id, std::string_view message_id) {
  return with_connection([&](PgConnection& db) {
    return require(query_one(db, kSelectMessage, params_of(workspace_id, message_id), read_message), "message");
  });
}

Result<Page<Message>> PostgresStore::list_messages(std::string_view workspace_id, const MessageQuery& query) {
  return with_connection([&](PgConnection& db) {
    FilteredQuery select(message_walk(query) == MessageWalk::deliveries ? kSelectMessagesByDelivery : kSelectMessages);
    const std::string_view id_column = filter_messages(select, workspace_id, query);
    return with_parent(db, query_page(db, std::move(select), id_column, query.page, read_message),
                       workspace_parent(workspace_id));
  });
}

// --- deliveries

Result<Delivery> PostgresStore::get_delivery(std::string_view workspace_id, std::string_view delivery_id) {
  return with_connection([&](PgConnection& db) { return fetch_delivery(db, workspace_id, delivery_id); });
}

Result<std::vector<Delivery>> PostgresStore::list_deliveries_for_message(std::string_view workspace_id,
                                                                         std::string_view message_id) {
  return with_connection([&](PgConnection& db) {
    return with_parent(db,
                       query_all(db, kSelectDeliveriesOfMessage, params_of(workspace_id, message_id), read_delivery),
                       {kMessageExists, workspace_id, message_id, "message"});
  });
}

Result<Page<Delivery>> PostgresStore::list_deliveries_for_endpoint(std::string_view workspace_id,
                                                                   std::string_view endpoint_id,
                                                                   const DeliveryQuery& query) {
  return with_connection([&](PgConnection& db) {
    FilteredQuery select(kSelectDeliveries);
    filter_endpoint_deliveries(select, workspace_id, endpoint_id, query);
    return with_parent(db, query_page(db, std::move(select), "d.id", query.page, read_delivery),
                       {kEndpointExists, workspace_id, endpoint_id, "endpoint"});
  });
}

Result<std::vector<DueDelivery>> PostgresStore::claim_due_deliveries(
    UnixMillis now_ms, int limit, UnixMillis lease_until_ms, std::span<const std::string> excluded_endpoint_ids) {
  return with_connection([&](PgConnection& db) {
    PgParams params;
    params.integer(now_ms).text_array(excluded_endpoint_ids).integer(clamp_limit(limit)).integer(lease_until_ms);
    return query_all(db, kClaimDue, params, read_due_delivery);
  });
}

Result<std::vector<DueDelivery>> PostgresStore::claim_deliveries(std::span<const DeliveryRef> deliveries,
                                                                 UnixMillis now_ms, UnixMillis lease_until_ms) {
  if (deliveries.empty()) return std::vector<DueDelivery>();
  return with_connection([&](PgConnection& db) {
    PgParams params = key_arrays(deliveries);
    params.integer(now_ms).integer(lease_until_ms);
    return query_all(db, kClaimByKey, params, read_due_delivery);
  });
}

Result<std::optional<UnixMillis>> PostgresStore::next_due_time() {
  return with_connection([&](PgConnection& db) {
    return query_one(db, kNextDue, {}, [](const PgRow& row, int first) { return row.integer(first); });
  });
}

Result<OpenDeliveryCounts> PostgresStore::count_open_deliveries(UnixMillis now_ms, std::int64_t limit) {
  return with_connection([&](PgConnection& db) -> Result<OpenDeliveryCounts> {
    PgParams params;
    params.integer(now_ms).integer(limit);
    auto counts = query_one(db, kCountOpen, params, [](const PgRow& row, int first) {
      return OpenDeliveryCounts{row.integer(first), row.integer(first + 1)};
    });
    if (!counts) return counts.error();
    return counts->value_or(OpenDeliveryCounts{});
  });
}

Status PostgresStore::record_attempts(std::span<const AttemptRecord> records) {
  if (records.empty()) return {};
  std::set<std::int64_t> days;
  for (const auto& record : records) days.insert(pg_day_of(record.attempt.started_at_ms));
  return with_connection([&](PgConnection& db) -> Status {
    for (bool partitions_checked = false;;) {
      if (auto ensured = partitions_->ensure(db, kPgAttemptsTable, days); !ensured) return ensured;
      auto transaction = PgTransaction::begin(db);
      if (!transaction) return transaction.error();
      if (auto recorded = record_in(db, records, node_id_); !recorded) {
        if (!partitions_checked && db.last_sqlstate() == kCheckViolation) {
          partitions_checked = true;
          partitions_->forget(kPgAttemptsTable);
          continue;
        }
        return recorded;
      }
      return transaction->commit();
    }
  });
}

Status PostgresStore::release_leases(std::span<const DeliveryRef> deliveries) {
  if (deliveries.empty()) return {};
  return write([&](PgConnection& db) -> Status {
    auto released = db.query(kReleaseLeases, key_arrays(deliveries));
    if (!released) return released.error();
    if (released->affected() == 0) return {};
    return notify(db, pg_deliveries_due_payload(node_id_));
  });
}

Result<Delivery> PostgresStore::resend_delivery(std::string_view workspace_id, std::string_view delivery_id,
                                                UnixMillis now_ms) {
  return write([&](PgConnection& db) -> Result<Delivery> {
    PgParams params;
    params.text(workspace_id).text(delivery_id).integer(now_ms);
    auto resent = require(query_one(db, kResendDelivery, params, read_delivery), "delivery");
    if (!resent) return resent;
    if (auto notified = notify(db, pg_deliveries_due_payload(node_id_)); !notified) return notified.error();
    return resent;
  });
}

Result<RecoverOutcome> PostgresStore::recover_failed_deliveries(const RecoverRequest& request,
                                                                const std::function<void(std::int64_t)>& batch_done) {
  auto run_batch = [&](const RecoverCursor& after, std::int64_t limit, RecoverCursor& reached) {
    // One transaction per batch, each telling the other nodes at its commit.
    return write([&](PgConnection& db) -> Result<std::int64_t> {
      reached = after;  // the body may run again on a new connection
      auto found = query_one(db, kEndpointEnabledForShare, params_of(request.workspace_id, request.endpoint_id),
                             [](const PgRow& row, int first) { return row.boolean(first); });
      if (!found) return found.error();
      if (!*found) return not_found("endpoint");
      if (!**found) return make_error(ErrorCode::conflict, "endpoint is disabled: enable it before recovering");
      PgParams params;
      params.text(request.workspace_id)
          .text(request.endpoint_id)
          .integer(request.since_ms)
          .integer(request.until_ms)
          .integer(after.created_at)
          .text(after.id)
          .integer(request.now_ms)
          .integer(limit);
      auto rows = db.query(kRecoverDeliveries, params);
      if (!rows) return rows.error();
      for (int i = 0; i < rows->rows(); ++i) reached.take(rows->integer(i, 0), rows->text(i, 1));
      if (rows->rows() > 0) {
        if (auto notified = notify(db, pg_deliveries_due_payload(node_id_)); !notified) return notified.error();
      }
      return std::int64_t{rows->rows()};
    });
  };
  return recover_in_batches(request, batch_done, run_batch);
}

// --- attempts

Result<std::vector<Attempt>> PostgresStore::list_attempts_for_message(std::string_view workspace_id,
                                                                      std::string_view message_id) {
  return with_connection([&](PgConnection& db) {
    return with_parent(db, query_all(db, kSelectAttemptsOfMessage, params_of(workspace_id, message_id), read_attempt),
                       {kMessageExists, workspace_id, message_id, "message"});
  });
}

Result<std::vector<Attempt>> PostgresStore::list_attempts_for_delivery(std::string_view workspace_id,
                                                                       std::string_view delivery_id) {
  return with_connection([&](PgConnection& db) {
    return with_parent(db, query_all(db, kSelectAttemptsOfDelivery, params_of(workspace_id, delivery_id), read_attempt),
                       {kDeliveryExists, workspace_id, delivery_id, "delivery"});
  });
}

Result<Page<Attempt>> PostgresStore::list_attempts_for_endpoint(std::string_view workspace_id,
                                                                std::string_view endpoint_id, const PageRequest& page,
                                                                std::optional<AttemptOutcome> outcome) {
  return with_connection([&](PgConnection& db) {
    FilteredQuery select(kSelectAttempts);
    select.where("a.workspace_id =", workspace_id).where("a.endpoint_id =", endpoint_id);
    if (outcome) select.where_sql(*outcome == AttemptOutcome::failed ? kAttemptFailed : kAttemptSucceeded);
    return with_parent(db, query_page(db, std::move(select), "a.id", page, read_attempt),
                       {kEndpointExists, workspace_id, endpoint_id, "endpoint"});
  });
}

// --- statistics

Result<std::vector<AttemptStatsRow>> PostgresStore::attempt_stats(std::string_view workspace_id,
                                                                  const StatsQuery& query) {
  return with_connection([&](PgConnection& db) -> Result<std::vector<AttemptStatsRow>> {
    PgParams params;
    params.text(workspace_id)
        .integer(query.window.since_ms)
        .integer(query.window.until_ms)
        .integer(query.window.bucket_ms);
    if (query.endpoint_id) params.text(*query.endpoint_id);
    auto rows = query_all(db, query.endpoint_id ? kSelectEndpointStats : kSelectStats, params,
                          [](const PgRow& row, int) { return read_stats_row(row); });
    if (query.endpoint_id) {
      return with_parent(db, std::move(rows), {kEndpointExists, workspace_id, *query.endpoint_id, "endpoint"});
    }
    return with_parent(db, std::move(rows), workspace_parent(workspace_id));
  });
}

Result<std::vector<MessageCountRow>> PostgresStore::message_counts(std::string_view workspace_id,
                                                                   const StatsWindow& window) {
  return with_connection([&](PgConnection& db) {
    PgParams params;
    params.text(workspace_id).integer(window.since_ms).integer(window.until_ms).integer(window.bucket_ms);
    auto rows = query_all(db, kCountMessages, params, [](const PgRow& row, int) {
      return MessageCountRow{row.integer(0), row.integer(1)};
    });
    return with_parent(db, std::move(rows), workspace_parent(workspace_id));
  });
}

// --- several processes

void PostgresStore::watch(StoreWatcher watcher) {
  std::lock_guard lock(listener_mutex_);
  if (listener_) return;
  listener_ = std::make_unique<PgListener>(PgConnectOptions{options_.url, options_.connect_timeout}, node_id_,
                                           std::move(watcher));
}

// --- upkeep

Result<MaintenanceReport> PostgresStore::maintain(UnixMillis now_ms, UnixMillis retention_cutoff_ms, int batch_limit) {
  return with_connection([&](PgConnection& db) -> Result<MaintenanceReport> {
    MaintenanceReport report;
    for (std::string_view table : {kPgMessagesTable, kPgAttemptsTable}) {
      if (auto ensured = partitions_->ensure(db, table, window_days(now_ms)); !ensured) return ensured.error();
    }
    // What hangs off expired messages goes first (attempts follow their
    // deliveries by cascade), a bounded batch per statement; the messages'
    // partitions are dropped only once nothing refers to them.
    std::int64_t budget = std::max(1, batch_limit);
    for (const std::string* sql : {&kDeleteExpiredDeliveries, &kDeleteExpiredKeys, &kDeleteExpiredStats}) {
      PgParams params;
      params.integer(sql == &kDeleteExpiredStats ? minute_of(retention_cutoff_ms) : retention_cutoff_ms)
          .integer(budget);
      auto deleted = db.query(*sql, params);
      if (!deleted) return deleted.error();
      if (sql == &kDeleteExpiredStats) report.stats_rows_deleted = deleted->affected();
      budget -= deleted->affected();
      if (budget <= 0) {
        report.more = true;
        return report;
      }
    }
    for (std::string_view table : {kPgMessagesTable, kPgAttemptsTable}) {
      auto dropped = partitions_->drop_before(db, table, retention_cutoff_ms);
      if (!dropped) return dropped.error();
      report.partitions_dropped += *dropped;
    }
    // The day the cutoff falls in keeps its partition; its older messages go one by one.
    PgParams params;
    params.integer(retention_cutoff_ms).integer(budget);
    auto deleted = db.query(kDeleteExpiredMessages, params);
    if (!deleted) return deleted.error();
    report.messages_deleted = deleted->affected();
    report.more = report.messages_deleted >= budget;
    return report;
  });
}

// --- copying between stores

Result<bool> PostgresStore::is_empty() {
  return with_connection([&](PgConnection& db) -> Result<bool> {
    auto result = db.query(kIsEmpty);
    if (!result) return result.error();
    return result->boolean(0, 0);
  });
}

Status PostgresStore::import_messages(std::span<const MessageRecord> records) {
  if (records.empty()) return {};
  std::set<std::int64_t> message_days;
  std::set<std::int64_t> attempt_days;
  for (const auto& record : records) {
    message_days.insert(pg_day_of(record.message.created_at_ms));
    for (const auto& attempt : record.attempts) attempt_days.insert(pg_day_of(attempt.started_at_ms));
  }
  return with_connection([&](PgConnection& db) -> Status {
    for (bool partitions_checked = false;;) {
      if (auto ensured = partitions_->ensure(db, kPgMessagesTable, message_days); !ensured) return ensured;
      if (auto ensured = partitions_->ensure(db, kPgAttemptsTable, attempt_days); !ensured) return ensured;
      auto transaction = PgTransaction::begin(db);
      if (!transaction) return transaction.error();
      if (auto imported = import_pg_messages(db, records, node_id_); !imported) {
        if (!partitions_checked && db.last_sqlstate() == kCheckViolation) {
          partitions_checked = true;
          partitions_->forget(kPgMessagesTable);
          partitions_->forget(kPgAttemptsTable);
          continue;
        }
        return imported.error();
      }
      return transaction->commit();
    }
  });
}

}  // namespace ferry
