#include "store/sqlite_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "store/attempt_stats_sql.hpp"
#include "store/backend_support.hpp"
#include "store/sqlite_checkpointer.hpp"
#include "store/sqlite_connection.hpp"
#include "store/sqlite_migrations.hpp"
#include "store/sqlite_rows.hpp"

namespace ferry {

namespace {

constexpr std::string_view kStoreName = "sqlite store";
// Idle read connections kept open; more are opened while more threads read.
constexpr std::size_t kMaxIdleReaders = 16;

// --- query helpers

template <class Read>
using RowOf = std::invoke_result_t<Read&, const SqliteRow&, int>;

template <class Read>
Result<std::optional<RowOf<Read>>> query_one(SqliteStatement& stmt, Read read) {
  auto row = stmt.step();
  if (!row) return row.error();
  if (!*row) return std::optional<RowOf<Read>>();
  return std::optional<RowOf<Read>>(read(SqliteRow(stmt), 0));
}

template <class Read>
Result<std::vector<RowOf<Read>>> query_all(SqliteStatement& stmt, Read read) {
  std::vector<RowOf<Read>> rows;
  for (;;) {
    auto row = stmt.step();
    if (!row) return row.error();
    if (!*row) return rows;
    rows.push_back(read(SqliteRow(stmt), 0));
  }
}

// Runs an UPDATE or DELETE that must touch a row; touching none means the row
// is not visible (missing, or in another workspace).
Status run_on_row(SqliteConnection& db, SqliteStatement& stmt, std::string_view what) {
  if (auto done = stmt.run(); !done) return done;
  if (db.changes() == 0) return not_found(what);
  return {};
}

// Numbered like the fixed statements: ?1, ?2, ...
using FilteredQuery = BasicFilteredQuery<'?'>;

template <class Read>
Result<Page<RowOf<Read>>> query_page(SqliteConnection& db, FilteredQuery query, std::string_view id_column,
                                     const PageRequest& request, Read read) {
  query.page(id_column, request);
  auto stmt = db.prepare(query.sql());
  query.bind(SqliteParams(stmt));
  return page_of(query_all(stmt, read), request);
}

// --- parents of listed rows

constexpr std::string_view kWorkspaceExists = "SELECT 1 FROM workspaces WHERE id = ?1";
constexpr std::string_view kEndpointExists = "SELECT 1 FROM endpoints WHERE workspace_id = ?1 AND id = ?2";
constexpr std::string_view kMessageExists = "SELECT 1 FROM messages WHERE workspace_id = ?1 AND id = ?2";
constexpr std::string_view kDeliveryExists = "SELECT 1 FROM deliveries WHERE workspace_id = ?1 AND id = ?2";

Parent workspace_parent(std::string_view workspace_id) {
  return {kWorkspaceExists, workspace_id, std::nullopt, "workspace"};
}

template <class List>
Result<List> with_parent(SqliteConnection& db, Result<List> list, const Parent& parent) {
  return check_parent(std::move(list), parent, [&] {
    auto stmt = db.prepare(parent.exists_sql);
    parent.bind(SqliteParams(stmt));
    return stmt.step();
  });
}

// --- SQL, by table. Parameters follow the binders' column order in row_mapping.hpp.

const std::string kInsertWorkspace =
    "INSERT INTO workspaces (id, name, catalog, profile, validate_payloads, test_mode, created_at, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const std::string kSelectWorkspace = cat("SELECT ", kWorkspaceColumns, " FROM workspaces w WHERE w.id = ?1");
const std::string kSelectWorkspaces = cat("SELECT ", kWorkspaceColumns, " FROM workspaces w");
// created_at (?7) is bound but immutable.
const std::string kUpdateWorkspace =
    "UPDATE workspaces SET name = ?2, catalog = ?3, profile = ?4, validate_payloads = ?5, test_mode = ?6, "
    "updated_at = ?8 WHERE id = ?1";
const std::string kDeleteWorkspace = "DELETE FROM workspaces WHERE id = ?1";

const std::string kInsertApiKey =
    "INSERT INTO api_keys (workspace_id, id, name, token_prefix, token_hash, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const std::string kSelectApiKeyByHash = cat("SELECT ", kApiKeyColumns, " FROM api_keys k WHERE k.token_hash = ?1");
const std::string kSelectApiKeys =
    cat("SELECT ", kApiKeyColumns, " FROM api_keys k WHERE k.workspace_id = ?1 ORDER BY k.id");
const std::string kDeleteApiKey = "DELETE FROM api_keys WHERE workspace_id = ?1 AND id = ?2";

const std::string kInsertEndpoint =
    "INSERT INTO endpoints (workspace_id, id, url, description, secrets, filter_types, profile, headers, "
    "rate_limit, enabled, disabled_reason, created_at, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
const std::string kSelectEndpoint =
    cat("SELECT ", kEndpointColumns, " FROM endpoints e WHERE e.workspace_id = ?1 AND e.id = ?2");
const std::string kSelectEndpoints = cat("SELECT ", kEndpointColumns, " FROM endpoints e");
const std::string kSelectAllEndpoints =
    cat("SELECT ", kEndpointColumns, " FROM endpoints e ORDER BY e.workspace_id, e.id");
// created_at (?12) is bound but immutable.
const std::string kUpdateEndpoint =
    "UPDATE endpoints SET url = ?3, description = ?4, secrets = ?5, filter_types = ?6, profile = ?7, "
    "headers = ?8, rate_limit = ?9, enabled = ?10, disabled_reason = ?11, updated_at = ?13 "
    "WHERE workspace_id = ?1 AND id = ?2";
const std::string kDisableEndpoint =
    "UPDATE endpoints SET enabled = 0, disabled_reason = ?3, updated_at = ?4 WHERE workspace_id = ?1 AND id = ?2";
const std::string kDeleteEndpoint = "DELETE FROM endpoints WHERE workspace_id = ?1 AND id = ?2";
// ?4: a delivery to leave alone, or NULL for none. A failed delivery keeps no
// lease, so release_all_leases only has to look at open ones.
const std::string kFailOpenDeliveries =
    "UPDATE deliveries SET state = 'failed', leased_until = NULL, updated_at = ?3 "
    "WHERE workspace_id = ?1 AND endpoint_id = ?2 AND state IN ('pending', 'retrying') AND id IS NOT ?4";

// A re-registered type keeps the time it was first registered.
const std::string kUpsertEventType =
    "INSERT INTO event_types (catalog, name, group_name, description, schema_json, examples_json, flags, archived, "
    "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
    "ON CONFLICT (catalog, name) DO UPDATE SET group_name = excluded.group_name, "
    "description = excluded.description, schema_json = excluded.schema_json, examples_json = excluded.examples_json, "
    "flags = excluded.flags, archived = excluded.archived, updated_at = excluded.updated_at";
const std::string kSelectEventType =
    cat("SELECT ", kEventTypeColumns, " FROM event_types t WHERE t.catalog = ?1 AND t.name = ?2");
const std::string kSelectEventTypes =
    cat("SELECT ", kEventTypeColumns, " FROM event_types t ORDER BY t.catalog, t.name");

// A catalog loaded again keeps the time it was first loaded.
const std::string kUpsertCatalog =
    "INSERT INTO catalogs (name, document, created_at, updated_at) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (name) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at";
const std::string kSelectCatalog = cat("SELECT ", kCatalogColumns, " FROM catalogs c WHERE c.name = ?1");
const std::string kSelectCatalogs = cat("SELECT ", kCatalogColumns, " FROM catalogs c ORDER BY c.name");

const std::string kInsertMessage =
    "INSERT INTO messages (workspace_id, id, type, payload, created_at, idempotency_key, test, flags) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const std::string kSelectMessage =
    cat("SELECT ", kMessageColumns, " FROM messages m WHERE m.workspace_id = ?1 AND m.id = ?2");
const std::string kSelectMessageByKey =
    cat("SELECT ", kMessageColumns, " FROM messages m WHERE m.workspace_id = ?1 AND m.idempotency_key = ?2");
const std::string kSelectMessages = cat("SELECT ", kMessageColumns, " FROM messages m");
// Listings filtered by delivery (see message_walk): the deliveries' index
// in message id order drives, CROSS JOIN keeps it the outer loop, and
// GROUP BY along that order gives one row per message without a sort.
const std::string kSelectMessagesByDelivery =
    cat("SELECT ", kMessageColumns,
        " FROM deliveries d CROSS JOIN messages m ON m.workspace_id = d.workspace_id AND m.id = d.message_id");
constexpr std::string_view kOneRowPerMessage = " GROUP BY d.message_id";
const std::string kClearIdempotencyKey =
    "UPDATE messages SET idempotency_key = NULL WHERE workspace_id = ?1 AND id = ?2";

// The endpoint check runs inside the publishing transaction, so an endpoint
// disabled or deleted since the caller's fan-out gets no delivery.
// All of a message's deliveries in one statement, from a JSON array of
// [delivery id, endpoint id] pairs: a fan-out to thousands of endpoints
// runs one statement, not one each.
const std::string kInsertDeliveries =
    "INSERT INTO deliveries (workspace_id, id, message_id, endpoint_id, state, attempt_count, next_attempt_at, "
    "leased_until, created_at, updated_at) "
    "SELECT ?1, t.value ->> 0, ?2, t.value ->> 1, 'pending', 0, ?4, NULL, ?4, ?4 FROM json_each(?3) t "
    "WHERE EXISTS (SELECT 1 FROM endpoints WHERE workspace_id = ?1 AND id = t.value ->> 1 AND enabled = 1)";
const std::string kSelectDelivery =
    cat("SELECT ", kDeliveryColumns, " FROM deliveries d WHERE d.workspace_id = ?1 AND d.id = ?2");
const std::string kSelectDeliveries = cat("SELECT ", kDeliveryColumns, " FROM deliveries d");
const std::string kSelectDeliveriesOfMessage =
    cat(kSelectDeliveries, " WHERE d.workspace_id = ?1 AND d.message_id = ?2 ORDER BY d.id");
// What a claim hands out, and the joins that bring it together.
const std::string kSelectDueColumns = cat("SELECT ", kDeliveryColumns, ", ", kMessageColumns, ", ", kEndpointColumns);
const std::string kJoinDueMessage = " JOIN messages m ON m.workspace_id = d.workspace_id AND m.id = d.message_id";
const std::string kJoinDueEndpoint =
    " CROSS JOIN endpoints e ON e.workspace_id = d.workspace_id AND e.id = d.endpoint_id";
// A delivery due and unleased (or its lease run out) at ?1. The state test
// must match the WHERE of the partial indexes deliveries_due and
// deliveries_open_by_endpoint word for word for them to be used. Its columns
// are the deliveries table's alone, so it needs no table name where it is
// joined to endpoints and messages.
const std::string kDueAndFree =
    "state IN ('pending', 'retrying') AND next_attempt_at <= ?1 AND (leased_until IS NULL OR leased_until <= ?1)";
// Walks deliveries_due oldest due first; finished rows are not in that
// index. CROSS JOIN pins deliveries as the outer loop: with statistics
// (ANALYZE) the planner may otherwise start from the few endpoints and sort
// every open delivery, where walking the index stops after `limit` rows.
const std::string kSelectDue = cat(kSelectDueColumns, " FROM deliveries d", kJoinDueEndpoint, kJoinDueMessage,
                                   " WHERE ", kDueAndFree, " AND e.enabled = 1 ORDER BY d.next_attempt_at LIMIT ?2");
// With endpoints left out, the same walk stops after ?4 unleased due
// deliveries whoever they belong to: a left-out endpoint's backlog may be
// most of what is due, and walking all of it to skip it cost a scan of
// every due delivery per claim.
const std::string kNotExcluded = " NOT IN (SELECT value FROM json_each(?2)) ORDER BY d.next_attempt_at LIMIT ?3";
const std::string kSelectDueWindow =
    cat(kSelectDueColumns, " FROM (SELECT rowid AS due_rowid FROM deliveries WHERE ", kDueAndFree,
        " ORDER BY next_attempt_at LIMIT ?4) w CROSS JOIN deliveries d ON d.rowid = w.due_rowid", kJoinDueEndpoint,
        kJoinDueMessage, " WHERE e.enabled = 1 AND d.endpoint_id", kNotExcluded);
// When that window did not fill the claim: each endpoint that takes part
// gives its own earliest due deliveries along deliveries_open_by_endpoint,
// and the earliest of all of them are taken. Costs a probe per enabled
// endpoint, however large the left-out backlogs.
const std::string kSelectDueByEndpoint = cat(
    kSelectDueColumns,
    " FROM endpoints e CROSS JOIN deliveries d ON d.rowid IN (SELECT rowid FROM deliveries"
    " INDEXED BY deliveries_open_by_endpoint WHERE workspace_id = e.workspace_id AND endpoint_id = e.id AND ",
    kDueAndFree, " ORDER BY next_attempt_at LIMIT ?3)", kJoinDueMessage, " WHERE e.enabled = 1 AND e.id", kNotExcluded);
const std::string kSelectDueByKey =
    cat(kSelectDueColumns, " FROM deliveries d", kJoinDueEndpoint, kJoinDueMessage,
        " WHERE d.workspace_id = ?2 AND d.id = ?3 AND ", kDueAndFree, " AND e.enabled = 1");
const std::string kLeaseDelivery =
    "UPDATE deliveries SET leased_until = ?3, lease_token = lease_token + 1 WHERE workspace_id = ?1 AND id = ?2";
// ORDER BY ... LIMIT 1 rather than MIN(), and CROSS JOIN as above: it stops
// at the first match along deliveries_due instead of visiting every open
// delivery.
const std::string kNextDue =
    "SELECT d.next_attempt_at FROM deliveries d"
    " CROSS JOIN endpoints e ON e.workspace_id = d.workspace_id AND e.id = d.endpoint_id"
    " WHERE d.state IN ('pending', 'retrying') AND d.leased_until IS NULL AND e.enabled = 1"
    " ORDER BY d.next_attempt_at LIMIT 1";
// Each count stops at ?2 entries of deliveries_due (the partial index of
// open deliveries, ordered by next_attempt_at): bounded whatever the store holds.
const std::string kCountOpen =
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM deliveries INDEXED BY deliveries_due"
    " WHERE state IN ('pending', 'retrying') AND next_attempt_at <= ?1 LIMIT ?2)),"
    " (SELECT count(*) FROM (SELECT 1 FROM deliveries INDEXED BY deliveries_due"
    " WHERE state IN ('pending', 'retrying') AND next_attempt_at > ?1 LIMIT ?2))";
// next_attempt_at only means something for open states; a finished delivery keeps its last one.
const std::string kRecordDelivery =
    "UPDATE deliveries SET state = ?3, attempt_count = ?4,"
    " next_attempt_at = CASE WHEN ?3 IN ('pending', 'retrying') THEN ?5 ELSE next_attempt_at END,"
    " leased_until = NULL, updated_at = ?6 WHERE workspace_id = ?1 AND id = ?2 AND lease_token = ?7";
// Only open deliveries ever hold a lease: every move to a finished state
// clears it. So this walks the small partial index, not the whole history.
const std::string kReleaseLeases =
    "UPDATE deliveries SET leased_until = NULL "
    "WHERE state IN ('pending', 'retrying') AND leased_until IS NOT NULL";
const std::string kReleaseLease =
    "UPDATE deliveries SET leased_until = NULL WHERE workspace_id = ?1 AND id = ?2 AND state IN ('pending', "
    "'retrying')";
const std::string kResendDelivery =
    "UPDATE deliveries SET state = 'pending', next_attempt_at = ?3, leased_until = NULL, updated_at = ?3 "
    "WHERE workspace_id = ?1 AND id = ?2";
// One batch of a recovery, as kResendDelivery does each: the next ?8 failed
// deliveries of the endpoint created in [?3, ?4), oldest first, after the
// previous batch's last (created_at, id) = (?5, ?6), along the partial index
// deliveries_failed_by_endpoint.
const std::string kRecoverDeliveries =
    "UPDATE deliveries SET state = 'pending', next_attempt_at = ?7, leased_until = NULL, updated_at = ?7 "
    "WHERE rowid IN (SELECT rowid FROM deliveries WHERE workspace_id = ?1 AND endpoint_id = ?2 AND state = 'failed' "
    "AND created_at >= ?3 AND created_at < ?4 AND (created_at, id) > (?5, ?6) ORDER BY created_at, id LIMIT ?8) "
    "RETURNING created_at, id";
const std::string kEndpointEnabled = "SELECT enabled FROM endpoints WHERE workspace_id = ?1 AND id = ?2";

// Retention: whole messages, their deliveries and attempts following by cascade.
const std::string kDeleteExpiredMessages =
    "DELETE FROM messages WHERE (workspace_id, id) IN "
    "(SELECT workspace_id, id FROM messages WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)";
const std::string kAnythingStored =
    "SELECT 1 WHERE EXISTS (SELECT 1 FROM workspaces) OR EXISTS (SELECT 1 FROM event_types) "
    "OR EXISTS (SELECT 1 FROM catalogs)";
// Copies keep ids; a row already there (an earlier, interrupted copy) stays.
const std::string kImportMessage = cat(kInsertMessage, " ON CONFLICT DO NOTHING");
const std::string kImportDelivery =
    "INSERT INTO deliveries (workspace_id, id, message_id, endpoint_id, state, attempt_count, next_attempt_at, "
    "created_at, updated_at, lease_token, leased_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL) "
    "ON CONFLICT DO NOTHING";

const std::string kInsertAttempt =
    "INSERT INTO attempts (workspace_id, id, delivery_id, message_id, endpoint_id, attempt_number, started_at, "
    "latency_us, url, request_headers, response_status, response_headers, response_body, error, error_detail) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
const std::string kImportAttempt = cat(kInsertAttempt, " ON CONFLICT DO NOTHING");
const std::string kSelectAttempts = cat("SELECT ", kAttemptColumns, " FROM attempts a");
// Through the message's deliveries: attempts have no index by message (migration 7).
const std::string kSelectAttemptsOfMessage =
    cat("SELECT ", kAttemptColumns,
        " FROM deliveries d CROSS JOIN attempts a ON a.workspace_id = d.workspace_id AND a.delivery_id = d.id"
        " WHERE d.workspace_id = ?1 AND d.message_id = ?2 ORDER BY a.id");
const std::string kSelectAttemptsOfDelivery =
    cat(kSelectAttempts, " WHERE a.workspace_id = ?1 AND a.delivery_id = ?2 ORDER BY a.id");

// --- statistics (store/attempt_stats_sql.hpp)

std::string numbered_values(std::size_t count) {
  std::string values = "VALUES (";
  for (std::size_t i = 1; i <= count; ++i) values += cat(i > 1 ? ", ?" : "?", std::to_string(i));
  return values + ")";
}
const std::string kUpsertStats = stats_upsert_sql(numbered_values(3 + kStatsCountColumns), "max");
// CROSS JOIN keeps endpoints the outer loop: a range of the primary key per endpoint.
const std::string kSelectStats = stats_select_sql('?', "CROSS JOIN", false);
const std::string kSelectEndpointStats = stats_select_sql('?', "CROSS JOIN", true);
// Along messages_created, the window's messages of every workspace: the
// other indexes of messages lead with the workspace but not the time, and
// would walk its whole history.
const std::string kCountMessages =
    "SELECT ?2 + ((created_at - ?2) / ?4) * ?4 AS start, count(*) FROM messages INDEXED BY messages_created "
    "WHERE created_at >= ?2 AND created_at < ?3 AND workspace_id = ?1 GROUP BY start ORDER BY start";
const std::string kDeleteExpiredStats =
    "DELETE FROM attempt_stats WHERE (workspace_id, endpoint_id, minute_ms) IN "
    "(SELECT workspace_id, endpoint_id, minute_ms FROM attempt_stats WHERE minute_ms < ?1 LIMIT ?2)";

// One upsert per key of the rollup.
Status upsert_stats(SqliteConnection& db, const AttemptRollup& rollup) {
  for (const auto& [key, counts] : rollup) {
    auto stmt = db.prepare(kUpsertStats);
    stmt.bind_text(1, key.workspace_id).bind_text(2, key.endpoint_id).bind_int(3, key.minute_ms);
    for (std::size_t i = 0; i < kStatsCountColumns; ++i) {
      stmt.bind_int(static_cast<int>(4 + i), stats_count_value(counts, i));
    }
    if (auto upserted = stmt.run(); !upserted) return upserted;
  }
  return {};
}

// --- single-row fetches shared by gets and by writes that return the row

Result<std::optional<Message>> find_message(SqliteConnection& db, const std::string& sql, std::string_view workspace_id,
                                            std::string_view key) {
  auto stmt = db.prepare(sql);
  stmt.bind_text(1, workspace_id).bind_text(2, key);
  return query_one(stmt, read_message);
}

Result<Workspace> fetch_workspace(SqliteConnection& db, std::string_view id) {
  auto stmt = db.prepare(kSelectWorkspace);
  stmt.bind_text(1, id);
  return require(query_one(stmt, read_workspace), "workspace");
}

Result<Endpoint> fetch_endpoint(SqliteConnection& db, std::string_view workspace_id, std::string_view id) {
  auto stmt = db.prepare(kSelectEndpoint);
  stmt.bind_text(1, workspace_id).bind_text(2, id);
  return require(query_one(stmt, read_endpoint), "endpoint");
}

Result<CatalogDocument> fetch_catalog(SqliteConnection& db, std::string_view name) {
  auto stmt = db.prepare(kSelectCatalog);
  stmt.bind_text(1, name);
  return require(query_one(stmt, read_catalog), "catalog");
}

Result<EventType> fetch_event_type(SqliteConnection& db, std::string_view catalog, std::string_view name) {
  auto stmt = db.prepare(kSelectEventType);
  stmt.bind_text(1, catalog).bind_text(2, name);
  return require(query_one(stmt, read_event_type), "event type");
}

Result<Delivery> fetch_delivery(SqliteConnection& db, std::string_view workspace_id, std::string_view id) {
  auto stmt = db.prepare(kSelectDelivery);
  stmt.bind_text(1, workspace_id).bind_text(2, id);
  return require(query_one(stmt, read_delivery), "delivery");
}

Status fail_open_deliveries(SqliteConnection& db, std::string_view workspace_id, std::string_view endpoint_id,
                            UnixMillis now_ms, std::optional<std::string_view> except_delivery_id) {
  auto stmt = db.prepare(kFailOpenDeliveries);
  stmt.bind_text(1, workspace_id).bind_text(2, endpoint_id).bind_int(3, now_ms);
  if (except_delivery_id) stmt.bind_text(4, *except_delivery_id);
  return stmt.run();  // unbound ?4 is NULL: no exception
}

// --- publishing

Result<int> create_deliveries(SqliteConnection& db, const PublishRequest& request, UnixMillis now_ms) {
  if (request.targets.empty()) return 0;
  const Message& message = request.message;
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& target : request.targets) pairs.push_back({target.delivery_id, target.endpoint_id});
  auto stmt = db.prepare(kInsertDeliveries);
  stmt.bind_text(1, message.workspace_id).bind_text(2, message.id).bind_text(3, pairs.dump()).bind_int(4, now_ms);
  if (auto inserted = stmt.run(); !inserted) return explain(inserted.error(), "delivery", "endpoint");
  return static_cast<int>(db.changes());
}

// Stores one message unless it is a duplicate. A refusal of this message
// comes back as an error; publish_one decides whether it ends the batch.
Result<PublishOutcome> store_message(SqliteConnection& db, const PublishRequest& request, UnixMillis now_ms,
                                     UnixMillis window_ms, bool& wrote) {
  const Message& message = request.message;
  const UnixMillis fresh_after = saturating_sub(now_ms, window_ms);
  const auto fresh = [&](const Message& earlier) { return earlier.created_at_ms > fresh_after; };

  // A producer's key is matched against earlier keys; without one, the id
  // is the key and is matched against earlier ids (below).
  Result<std::optional<Message>> by_key = std::optional<Message>();
  if (message.idempotency_key) {
    by_key = find_message(db, kSelectMessageByKey, message.workspace_id, *message.idempotency_key);
  }
  if (!by_key) return by_key.error();
  if (*by_key && fresh(**by_key)) return duplicate_of(std::move(**by_key));

  auto by_id = find_message(db, kSelectMessage, message.workspace_id, message.id);
  if (!by_id) return by_id.error();
  if (*by_id) {
    if (fresh(**by_id)) return duplicate_of(std::move(**by_id));
    return make_error(ErrorCode::conflict, "message id already used");
  }

  // The key's earlier owner is outside the window: the key is free again.
  if (*by_key) {
    auto clear = db.prepare(kClearIdempotencyKey);
    clear.bind_text(1, message.workspace_id).bind_text(2, (*by_key)->id);
    if (auto cleared = clear.run(); !cleared) return cleared.error();
    wrote = true;
  }

  // One statement: refused, it leaves nothing behind.
  auto insert = db.prepare(kInsertMessage);
  bind_message(SqliteParams(insert), message);
  if (auto inserted = insert.run(); !inserted) return explain(inserted.error(), "message", "workspace");
  wrote = true;

  auto created = create_deliveries(db, request, now_ms);
  if (!created) return created.error();
  PublishOutcome outcome;
  outcome.message = message;
  outcome.deliveries_created = *created;
  return outcome;
}

// How the messages of one publish are kept apart inside its transaction.
enum class Isolation {
  // None: a savepoint per message costs a statement journal of every page
  // the message touches, and a message is almost always refused, if at all,
  // before its first write (a duplicate, a used id) or by that write itself,
  // a single INSERT that leaves nothing behind. A refusal after a write
  // cannot be undone alone: it asks for the whole publish to run again...
  none,
  // ... with a savepoint around each message.
  savepoint,
};

// One message inside the batch's transaction: a refused message leaves no
// trace while the rest of the batch commits; a failure of the database
// itself fails the whole batch.
Result<PublishOutcome> publish_one(SqliteConnection& db, const PublishRequest& request, UnixMillis now_ms,
                                   UnixMillis window_ms, Isolation isolation, bool& needs_savepoints) {
  const bool savepoint = isolation == Isolation::savepoint;
  if (savepoint) {
    if (auto saved = db.exec("SAVEPOINT publish_message"); !saved) return saved.error();
  }
  bool wrote = false;
  auto stored = store_message(db, request, now_ms, window_ms, wrote);
  if (stored) {
    if (!savepoint) return stored;
    if (auto released = db.exec("RELEASE publish_message"); !released) return released.error();
    return stored;
  }
  if (is_database_failure(stored.error())) return stored;  // the batch's rollback undoes everything
  if (savepoint) {
    if (auto undone = db.exec("ROLLBACK TO publish_message"); !undone) return undone.error();
    if (auto released = db.exec("RELEASE publish_message"); !released) return released.error();
  } else if (wrote) {
    needs_savepoints = true;
    return stored.error();  // rolls the transaction back
  }
  PublishOutcome refused;
  refused.message = request.message;
  refused.error = stored.error();
  return refused;
}

// --- delivering

// The `limit` earliest due deliveries of enabled endpoints but the excluded.
Result<std::vector<DueDelivery>> select_due(SqliteConnection& db, UnixMillis now_ms, int limit,
                                            std::span<const std::string> excluded_endpoint_ids) {
  if (excluded_endpoint_ids.empty()) {
    auto select = db.prepare(kSelectDue);
    select.bind_int(1, now_ms).bind_int(2, limit);
    return query_all(select, read_due_delivery);
  }
  const std::string excluded = encode_strings(excluded_endpoint_ids);
  // Past this many due deliveries of left-out endpoints, asking each other
  // endpoint is cheaper than walking on.
  const int window = 4 * limit;
  auto walk = db.prepare(kSelectDueWindow);
  walk.bind_int(1, now_ms).bind_text(2, excluded).bind_int(3, limit).bind_int(4, window);
  auto due = query_all(walk, read_due_delivery);
  if (!due || static_cast<int>(due->size()) >= limit) return due;
  auto by_endpoint = db.prepare(kSelectDueByEndpoint);
  by_endpoint.bind_int(1, now_ms).bind_text(2, excluded).bind_int(3, limit);
  return query_all(by_endpoint, read_due_delivery);
}

Status lease_deliveries(SqliteConnection& db, std::vector<DueDelivery>& claimed, UnixMillis lease_until_ms) {
  for (auto& due : claimed) {
    auto stmt = db.prepare(kLeaseDelivery);
    stmt.bind_text(1, due.delivery.workspace_id).bind_text(2, due.delivery.id).bind_int(3, lease_until_ms);
    if (auto leased = stmt.run(); !leased) return leased;
    due.delivery.lease_token += 1;
  }
  return {};
}

Status disable_endpoint(SqliteConnection& db, const Attempt& attempt, std::string_view reason, UnixMillis now_ms) {
  auto stmt = db.prepare(kDisableEndpoint);
  stmt.bind_text(1, attempt.workspace_id).bind_text(2, attempt.endpoint_id).bind_text(3, reason).bind_int(4, now_ms);
  if (auto disabled = stmt.run(); !disabled) return disabled;
  // The attempt's own delivery already took the state its record asked for.
  return fail_open_deliveries(db, attempt.workspace_id, attempt.endpoint_id, now_ms, attempt.delivery_id);
}

Status record_one(SqliteConnection& db, const AttemptRecord& record, AttemptRollup& rollup) {
  const Attempt& attempt = record.attempt;
  const UnixMillis finished_ms = attempt.started_at_ms + attempt.latency_us / 1000;
  auto update = db.prepare(kRecordDelivery);
  update.bind_text(1, attempt.workspace_id)
      .bind_text(2, attempt.delivery_id)
      .bind_text(3, delivery_state_name(record.new_state))
      .bind_int(4, attempt.attempt_number)
      .bind_int(5, record.next_attempt_at_ms)
      .bind_int(6, finished_ms)
      .bind_int(7, record.lease_token);
  if (auto updated = update.run(); !updated) return updated;
  if (db.changes() == 0) {
    // Either the delivery was deleted (with its endpoint or workspace) while
    // the attempt was in flight, and there is nothing left to attach the
    // attempt to; or a resend or another claim took it over, and the attempt
    // is history while the state belongs to the new holder.
    auto exists = db.prepare(std::string(kDeliveryExists));
    exists.bind_text(1, attempt.workspace_id).bind_text(2, attempt.delivery_id);
    auto row = exists.step();
    if (!row) return row.error();
    if (!*row) return {};
  }

  auto insert = db.prepare(kInsertAttempt);
  bind_attempt(SqliteParams(insert), attempt);
  if (auto inserted = insert.run(); !inserted) return explain(inserted.error(), "attempt", "delivery");
  add_to_rollup(rollup, attempt);

  if (!record.disable_endpoint_reason) return {};
  return disable_endpoint(db, attempt, *record.disable_endpoint_reason, finished_ms);
}

}  // namespace

// --- plumbing

template <class Body>
auto SqliteStore::write(Body&& body, Commit commit) {
  using R = std::invoke_result_t<Body&, SqliteConnection&>;
  return guarded<R>(kStoreName, [&]() -> R {
    std::lock_guard lock(writer_mutex_);
    // Switched only when it changes, and a durable write never runs unless
    // the switch back to FULL succeeded.
    if (commit != writer_commit_) {
      const char* pragma = commit == Commit::lazy ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL";
      if (auto switched = writer_->exec(pragma); !switched) return switched.error();
      writer_commit_ = commit;
    }
    auto transaction = SqliteTransaction::begin(*writer_, SqliteTransaction::Kind::immediate);
    if (!transaction) return transaction.error();
    R result = body(*writer_);
    if (!result) return result;  // the transaction's destructor rolls back
    if (auto committed = transaction->commit(); !committed) return committed.error();
    return result;
  });
}

template <class Body>
auto SqliteStore::read(Body&& body) {
  using R = std::invoke_result_t<Body&, SqliteConnection&>;
  return guarded<R>(kStoreName, [&]() -> R {
    auto lease = readers_->acquire();
    if (!lease) return lease.error();
    return body(lease->connection());
  });
}

SqliteStore::SqliteStore(std::unique_ptr<SqliteConnection> writer, std::unique_ptr<SqliteCheckpointer> checkpointer,
                         std::unique_ptr<SqliteReaderPool> readers, int lock_fd)
    : writer_(std::move(writer)),
      checkpointer_(std::move(checkpointer)),
      readers_(std::move(readers)),
      lock_fd_(lock_fd) {}

SqliteStore::~SqliteStore() {
  checkpointer_.reset();  // before the writer closes: it detaches from it
  readers_.reset();
  writer_.reset();
  ::close(lock_fd_);  // releases the flock
}

namespace {

// The lock dies with the process, so a crashed server never leaves it behind.
Result<int> lock_exclusively(const std::string& database_path) {
  const std::string lock_path = database_path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(ErrorCode::unavailable, cat("cannot open ", lock_path, ": ", std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return make_error(ErrorCode::unavailable,
                        cat("another process is using ", database_path,
                            " (an SQLite store serves one process; several nodes need PostgreSQL)"));
    }
    return make_error(ErrorCode::unavailable, cat("cannot lock ", lock_path, ": ", std::strerror(error)));
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  using R = Result<std::unique_ptr<SqliteStore>>;
  return guarded<R>(kStoreName, [&]() -> R {
    if (path.empty() || path == ":memory:") {
      return make_error(ErrorCode::bad_request, "sqlite store: needs a database file path");
    }
    auto lock_fd = lock_exclusively(path);
    if (!lock_fd) return lock_fd.error();
    auto unlock_on_failure = [fd = *lock_fd](Error error) -> R {
      ::close(fd);
      return error;
    };
    auto writer = SqliteConnection::open(path, SqliteConnection::Role::writer);
    if (!writer) return unlock_on_failure(writer.error());
    if (auto migrated = apply_sqlite_migrations(**writer, SystemClock().now_ms()); !migrated) {
      return unlock_on_failure(migrated.error());
    }
    // Leases still held belong to a process that died: nobody else can be running.
    if (auto released = (*writer)->exec(kReleaseLeases); !released) return unlock_on_failure(released.error());
    auto readers = std::make_unique<SqliteReaderPool>(path, kMaxIdleReaders);
    // Open one reader now, so a file readers cannot open fails here rather than on the first read.
    if (auto reader = readers->acquire(); !reader) return unlock_on_failure(reader.error());
    auto checkpointer = SqliteCheckpointer::attach(path, **writer);
    if (!checkpointer) return unlock_on_failure(checkpointer.error());
    return std::unique_ptr<SqliteStore>(
        new SqliteStore(std::move(*writer), std::move(*checkpointer), std::move(readers), *lock_fd));
  });
}

// --- workspaces

Result<Workspace> SqliteStore::create_workspace(const Workspace& workspace) {
  return write([&](SqliteConnection& db) -> Result<Workspace> {
    auto stmt = db.prepare(kInsertWorkspace);
    bind_workspace(SqliteParams(stmt), workspace);
    if (auto inserted = stmt.run(); !inserted) return explain(inserted.error(), "workspace", "workspace");
    return workspace;
  });
}

Result<Workspace> SqliteStore::get_workspace(std::string_view id) {
  return read([&](SqliteConnection& db) { return fetch_workspace(db, id); });
}

Result<Page<Workspace>> SqliteStore::list_workspaces(const PageRequest& page) {
  return read([&](SqliteConnection& db) {
    return query_page(db, FilteredQuery(kSelectWorkspaces), "w.id", page, read_workspace);
  });
}

Result<Workspace> SqliteStore::update_workspace(const Workspace& workspace) {
  return write([&](SqliteConnection& db) -> Result<Workspace> {
    auto stmt = db.prepare(kUpdateWorkspace);
    bind_workspace(SqliteParams(stmt), workspace);
    if (auto updated = run_on_row(db, stmt, "workspace"); !updated) return updated.error();
    return fetch_workspace(db, workspace.id);
  });
}

Status SqliteStore::delete_workspace(std::string_view id) {
  return write([&](SqliteConnection& db) {
    auto stmt = db.prepare(kDeleteWorkspace);
    stmt.bind_text(1, id);
    return run_on_row(db, stmt, "workspace");
  });
}

// --- API keys

Result<ApiKey> SqliteStore::create_api_key(const ApiKey& key) {
  return write([&](SqliteConnection& db) -> Result<ApiKey> {
    auto stmt = db.prepare(kInsertApiKey);
    bind_api_key(SqliteParams(stmt), key);
    if (auto inserted = stmt.run(); !inserted) return explain(inserted.error(), "API key", "workspace");
    return key;
  });
}

Result<ApiKey> SqliteStore::find_api_key_by_hash(std::string_view token_hash) {
  return read([&](SqliteConnection& db) {
    auto stmt = db.prepare(kSelectApiKeyByHash);
    stmt.bind_text(1, token_hash);
    return require(query_one(stmt, read_api_key), "API key");
  });
}

Result<std::vector<ApiKey>> SqliteStore::list_api_keys(std::string_view workspace_id) {
  return read([&](SqliteConnection& db) {
    auto stmt = db.prepare(kSelectApiKeys);
    stmt.bind_text(1, workspace_id);
    return with_parent(db, query_all(stmt, read_api_key), workspace_parent(workspace_id));
  });
}

Status SqliteStore::delete_api_key(std::string_view workspace_id, std::string_view key_id) {
  return write([&](SqliteConnection& db) {
    auto stmt = db.prepare(kDeleteApiKey);
    stmt.bind_text(1, workspace_id).bind_text(2, key_id);
    return run_on_row(db, stmt, "API key");
  });
}

// --- endpoints

Result<Endpoint> SqliteStore::create_endpoint(const Endpoint& endpoint) {
  return write([&](SqliteConnection& db) -> Result<Endpoint> {
    auto stmt = db.prepare(kInsertEndpoint);
    bind_endpoint(SqliteParams(stmt), endpoint);
    if (auto inserted = stmt.run(); !inserted) return explain(inserted.error(), "endpoint", "workspace");
    return fetch_endpoint(db, endpoint.workspace_id, endpoint.id);
  });
}

Result<Endpoint> SqliteStore::get_endpoint(std::string_view workspace_id, std::string_view endpoint_id) {
  return read([&](SqliteConnection& db) { return fetch_endpoint(db, workspace_id, endpoint_id); });
}

Result<Page<Endpoint>> SqliteStore::list_endpoints(std::string_view workspace_id, const PageRequest& page) {
  return read([&](SqliteConnection& db) {
    FilteredQuery query(kSelectEndpoints);
    query.where("e.workspace_id =", workspace_id);
    return with_parent(db, query_page(db, std::move(query), "e.id", page, read_endpoint),
                       workspace_parent(workspace_id));
  });
}

Result<std::vector<Endpoint>> SqliteStore::list_all_endpoints() {
  return read([&](SqliteConnection& db) {
    auto stmt = db.prepare(kSelectAllEndpoints);
    return query_all(stmt, read_endpoint);
  });
}

Result<Endpoint> SqliteStore::update_endpoint(const Endpoint& endpoint) {
  return write([&](SqliteConnection& db) -> Result<Endpoint> {
    auto stmt = db.prepare(kUpdateEndpoint);
    bind_endpoint(SqliteParams(stmt), endpoint);
    if (auto updated = run_on_row(db, stmt, "endpoint"); !updated) return updated.error();
    if (!endpoint.enabled) {
      auto failed = fail_open_deliveries(db, endpoint.workspace_id, endpoint.id, endpoint.updated_at_ms, std::nullopt);
      if (!failed) return failed.error();
    }
    return fetch_endpoint(db, endpoint.workspace_id, endpoint.id);
  });
}

Status SqliteStore::delete_endpoint(std::string_view workspace_id, std::string_view endpoint_id) {
  return write([&](SqliteConnection& db) {
    auto stmt = db.prepare(kDeleteEndpoint);
    stmt.bind_text(1, workspace_id).bind_text(2, endpoint_id);
    return run_on_row(db, stmt, "endpoint");
  });
}

// --- event types

Result<CatalogDocument> SqliteStore::upsert_catalog(const CatalogDocument& catalog) {
  return write([&](SqliteConnection& db) -> Result<CatalogDocument> {
    auto stmt = db.prepare(kUpsertCatalog);
    bind_catalog(SqliteParams(stmt), catalog);
    if (auto ran = stmt.run(); !ran) return ran.error();
    return fetch_catalog(db, catalog.name);
  });
}

Result<CatalogDocument> SqliteStore::get_catalog(std::string_view name) {
  return read([&](SqliteConnection& db) { return fetch_catalog(db, name); });
}

Result<std::vector<CatalogDocument>> SqliteStore::list_catalogs() {
  return read([&](SqliteConnection& db) {
    auto stmt = db.prepare(kSelectCatalogs);
    return query_all(stmt, read_catalog);
  });
}

Result<EventType> SqliteStore::upsert_event_type(const EventType& type) {
  return write([&](SqliteConnection& db) -> Result<EventType> {
    auto stmt = db.prepare(kUpsertEventType);
    bind_event_type(SqliteParams(stmt), type);
    if (auto upserted = stmt.run(); !upserted) return upserted.error();
    return fetch_event_type(db, type.catalog, type.name);
  });
}

Result<EventType> SqliteStore::get_event_type(std::string_view catalog, std::string_view name) {
  return read([&](SqliteConnection& db) { return fetch_event_type(db, catalog, name); });
}

Result<std::vector<EventType>> SqliteStore::list_event_types() {
  return read([&](SqliteConnection& db) {
    auto stmt = db.prepare(kSelectEventTypes);
    return query_all(stmt, read_event_type);
  });
}

// --- messages

Result<std::vector<PublishOutcome>> SqliteStore::publish(std::span<const PublishRequest> requests, UnixMillis now_ms,
                                                         UnixMillis idempotency_window_ms) {
  if (requests.empty()) return std::vector<PublishOutcome>();
  bool needs_savepoints = false;  // a publish without savepoints met a refusal it cannot undo alone
  auto publish_all = [&](Isolation isolation) {
    return write([&](SqliteConnection& db) -> Result<std::vector<PublishOutcome>> {
      std::vector<PublishOutcome> outcomes;
      outcomes.reserve(requests.size());
      for (const auto& request : requests) {
        auto outcome = publish_one(db, request, now_ms, idempotency_window_ms, isolation, needs_savepoints);
        if (!outcome) return outcome.error();
        outcomes.push_back(std::move(*outcome));
      }
      return outcomes;
    });
  };
  auto outcomes = publish_all(Isolation::none);
  if (!outcomes && needs_savepoints) return publish_all(Isolation::savepoint);
  return outcomes;
}

Result<Message> SqliteStore::get_message(std::string_view workspace_id, std::string_view message_id) {
  return read([&](SqliteConnection& db) {
    return require(find_message(db, kSelectMessage, workspace_id, message_id), "message");
  });
}

Result<Page<Message>> SqliteStore::list_messages(std::string_view workspace_id, const MessageQuery& query) {
  return read([&](SqliteConnection& db) {
    const bool by_delivery = message_walk(query) == MessageWalk::deliveries;
    FilteredQuery select(by_delivery ? kSelectMessagesByDelivery : kSelectMessages);
    const std::string_view id_column = filter_messages(select, workspace_id, query);
    if (by_delivery) select.group_by(kOneRowPerMessage);
    return with_parent(db, query_page(db, std::move(select), id_column, query.page, read_message),
                       workspace_parent(workspace_id));
  });
}

// --- deliveries

Result<Delivery> SqliteStore::get_delivery(std::string_view workspace_id, std::string_view delivery_id) {
  return read([&](SqliteConnection& db) { return fetch_delivery(db, workspace_id, delivery_id); });
}

Result<std::vector<Delivery>> SqliteStore::list_deliveries_for_message(std::string_view workspace_id,
                                                                       std::string_view message_id) {
  return read([&](SqliteConnection& db) {
    auto stmt = db.prepare(kSelectDeliveriesOfMessage);
    stmt.bind_text(1, workspace_id).bind_text(2, message_id);
    return with_parent(db, query_all(stmt, read_delivery), {kMessageExists, workspace_id, message_id, "message"});
  });
}

Result<Page<Delivery>> SqliteStore::list_deliveries_for_endpoint(std::string_view workspace_id,
                                                                 std::string_view endpoint_id,
                                                                 const DeliveryQuery& query) {
  return read([&](SqliteConnection& db) {
    FilteredQuery select(kSelectDeliveries);
    filter_endpoint_deliveries(select, workspace_id, endpoint_id, query);
    return with_parent(db, query_page(db, std::move(select), "d.id", query.page, read_delivery),
                       {kEndpointExists, workspace_id, endpoint_id, "endpoint"});
  });
}

Result<std::vector<DueDelivery>> SqliteStore::claim_due_deliveries(UnixMillis now_ms, int limit,
                                                                   UnixMillis lease_until_ms,
                                                                   std::span<const std::string> excluded_endpoint_ids) {
  // Selecting and leasing in one write transaction: nothing can claim the
  // same rows in between.
  return write(
      [&](SqliteConnection& db) -> Result<std::vector<DueDelivery>> {
        auto claimed = select_due(db, now_ms, clamp_limit(limit), excluded_endpoint_ids);
        if (!claimed) return claimed;
        if (auto leased = lease_deliveries(db, *claimed, lease_until_ms); !leased) return leased.error();
        return claimed;
      },
      Commit::lazy);
}

Result<std::vector<DueDelivery>> SqliteStore::claim_deliveries(std::span<const DeliveryRef> deliveries,
                                                               UnixMillis now_ms, UnixMillis lease_until_ms) {
  if (deliveries.empty()) return std::vector<DueDelivery>();
  return write(
      [&](SqliteConnection& db) -> Result<std::vector<DueDelivery>> {
        std::vector<DueDelivery> claimed;
        for (const auto& ref : deliveries) {
          auto select = db.prepare(kSelectDueByKey);
          select.bind_int(1, now_ms).bind_text(2, ref.workspace_id).bind_text(3, ref.delivery_id);
          auto due = query_one(select, read_due_delivery);
          if (!due) return due.error();
          if (*due) claimed.push_back(std::move(**due));
        }
        if (auto leased = lease_deliveries(db, claimed, lease_until_ms); !leased) return leased.error();
        return claimed;
      },
      Commit::lazy);
}

Result<std::optional<UnixMillis>> SqliteStore::next_due_time() {
  return read([&](SqliteConnection& db) {
    auto stmt = db.prepare(kNextDue);
    return query_one(stmt, [](const SqliteRow& row, int first) { return row.integer(first); });
  });
}

Result<OpenDeliveryCounts> SqliteStore::count_open_deliveries(UnixMillis now_ms, std::int64_t limit) {
  return read([&](SqliteConnection& db) -> Result<OpenDeliveryCounts> {
    auto stmt = db.prepare(kCountOpen);
    stmt.bind_int(1, now_ms).bind_int(2, limit);
    auto counts = query_one(stmt, [](const SqliteRow& row, int first) {
      return OpenDeliveryCounts{row.integer(first), row.integer(first + 1)};
    });
    if (!counts) return counts.error();
    return counts->value_or(OpenDeliveryCounts{});
  });
}

Status SqliteStore::record_attempts(std::span<const AttemptRecord> records) {
  if (records.empty()) return {};
  return write([&](SqliteConnection& db) -> Status {
    AttemptRollup rollup;
    for (const auto& record : records) {
      if (auto recorded = record_one(db, record, rollup); !recorded) return recorded;
    }
    return upsert_stats(db, rollup);
  });
}

Status SqliteStore::release_leases(std::span<const DeliveryRef> deliveries) {
  if (deliveries.empty()) return {};
  return write(
      [&](SqliteConnection& db) -> Status {
        for (const auto& ref : deliveries) {
          auto stmt = db.prepare(kReleaseLease);
          stmt.bind_text(1, ref.workspace_id).bind_text(2, ref.delivery_id);
          if (auto released = stmt.run(); !released) return released;
        }
        return {};
      },
      Commit::lazy);
}

Result<Delivery> SqliteStore::resend_delivery(std::string_view workspace_id, std::string_view delivery_id,
                                              UnixMillis now_ms) {
  return write([&](SqliteConnection& db) -> Result<Delivery> {
    auto stmt = db.prepare(kResendDelivery);
    stmt.bind_text(1, workspace_id).bind_text(2, delivery_id).bind_int(3, now_ms);
    if (auto updated = run_on_row(db, stmt, "delivery"); !updated) return updated.error();
    return fetch_delivery(db, workspace_id, delivery_id);
  });
}

Result<RecoverOutcome> SqliteStore::recover_failed_deliveries(const RecoverRequest& request,
                                                              const std::function<void(std::int64_t)>& batch_done) {
  auto run_batch = [&](const RecoverCursor& after, std::int64_t limit, RecoverCursor& reached) {
    // One short transaction per batch: publishes and attempts queue behind
    // the writer for one batch at most, never for the whole recovery.
    return write([&](SqliteConnection& db) -> Result<std::int64_t> {
      reached = after;
      auto enabled = db.prepare(kEndpointEnabled);
      enabled.bind_text(1, request.workspace_id).bind_text(2, request.endpoint_id);
      auto found = query_one(enabled, [](const SqliteRow& row, int first) { return row.integer(first) != 0; });
      if (!found) return found.error();
      if (!*found) return not_found("endpoint");
      if (!**found) return make_error(ErrorCode::conflict, "endpoint is disabled: enable it before recovering");
      auto stmt = db.prepare(kRecoverDeliveries);
      stmt.bind_text(1, request.workspace_id)
          .bind_text(2, request.endpoint_id)
          .bind_int(3, request.since_ms)
          .bind_int(4, request.until_ms)
          .bind_int(5, after.created_at)
          .bind_text(6, after.id)
          .bind_int(7, request.now_ms)
          .bind_int(8, limit);
      std::int64_t count = 0;
      for (;;) {
        auto row = stmt.step();
        if (!row) return row.error();
        if (!*row) break;
        ++count;
        reached.take(stmt.column_int(0), stmt.column_text(1));
      }
      return count;
    });
  };
  return recover_in_batches(request, batch_done, run_batch);
}

// --- attempts

Result<std::vector<Attempt>> SqliteStore::list_attempts_for_message(std::string_view workspace_id,
                                                                    std::string_view message_id) {
  return read([&](SqliteConnection& db) {
    auto stmt = db.prepare(kSelectAttemptsOfMessage);
    stmt.bind_text(1, workspace_id).bind_text(2, message_id);
    return with_parent(db, query_all(stmt, read_attempt), {kMessageExists, workspace_id, message_id, "message"});
  });
}

Result<std::vector<Attempt>> SqliteStore::list_attempts_for_delivery(std::string_view workspace_id,
                                                                     std::string_view delivery_id) {
  return read([&](SqliteConnection& db) {
    auto stmt = db.prepare(kSelectAttemptsOfDelivery);
    stmt.bind_text(1, workspace_id).bind_text(2, delivery_id);
    return with_parent(db, query_all(stmt, read_attempt), {kDeliveryExists, workspace_id, delivery_id, "delivery"});
  });
}

Result<Page<Attempt>> SqliteStore::list_attempts_for_endpoint(std::string_view workspace_id,
                                                              std::string_view endpoint_id, const PageRequest& page,
                                                              std::optional<AttemptOutcome> outcome) {
  return read([&](SqliteConnection& db) {
    FilteredQuery select(kSelectAttempts);
    select.where("a.workspace_id =", workspace_id).where("a.endpoint_id =", endpoint_id);
    if (outcome) select.where_sql(*outcome == AttemptOutcome::failed ? kAttemptFailed : kAttemptSucceeded);
    return with_parent(db, query_page(db, std::move(select), "a.id", page, read_attempt),
                       {kEndpointExists, workspace_id, endpoint_id, "endpoint"});
  });
}

// --- statistics

Result<std::vector<AttemptStatsRow>> SqliteStore::attempt_stats(std::string_view workspace_id,
                                                                const StatsQuery& query) {
  return read([&](SqliteConnection& db) -> Result<std::vector<AttemptStatsRow>> {
    auto stmt = db.prepare(query.endpoint_id ? kSelectEndpointStats : kSelectStats);
    stmt.bind_text(1, workspace_id)
        .bind_int(2, query.window.since_ms)
        .bind_int(3, query.window.until_ms)
        .bind_int(4, query.window.bucket_ms);
    if (query.endpoint_id) stmt.bind_text(5, *query.endpoint_id);
    auto rows = query_all(stmt, [](const SqliteRow& row, int) { return read_stats_row(row); });
    if (query.endpoint_id)
      return with_parent(db, std::move(rows), {kEndpointExists, workspace_id, *query.endpoint_id, "endpoint"});
    return with_parent(db, std::move(rows), workspace_parent(workspace_id));
  });
}

Result<std::vector<MessageCountRow>> SqliteStore::message_counts(std::string_view workspace_id,
                                                                 const StatsWindow& window) {
  return read([&](SqliteConnection& db) {
    auto stmt = db.prepare(kCountMessages);
    stmt.bind_text(1, workspace_id)
        .bind_int(2, window.since_ms)
        .bind_int(3, window.until_ms)
        .bind_int(4, window.bucket_ms);
    auto rows = query_all(stmt, [](const SqliteRow& row, int) {
      return MessageCountRow{row.integer(0), row.integer(1)};
    });
    return with_parent(db, std::move(rows), workspace_parent(workspace_id));
  });
}

// --- several processes, upkeep, copying

void SqliteStore::watch(StoreWatcher /*watcher*/) {}

Result<MaintenanceReport> SqliteStore::maintain(UnixMillis /*now_ms*/, UnixMillis retention_cutoff_ms,
                                                int batch_limit) {
  // Oldest first, a bounded batch per transaction: the writer lock is held
  // for one short delete, so publishes queue behind it for milliseconds.
  return write([&](SqliteConnection& db) -> Result<MaintenanceReport> {
    auto stmt = db.prepare(kDeleteExpiredMessages);
    stmt.bind_int(1, retention_cutoff_ms).bind_int(2, std::max(1, batch_limit));
    if (auto deleted = stmt.run(); !deleted) return deleted.error();
    MaintenanceReport report;
    report.messages_deleted = db.changes();
    report.more = report.messages_deleted >= std::max(1, batch_limit);
    auto stats = db.prepare(kDeleteExpiredStats);
    stats.bind_int(1, minute_of(retention_cutoff_ms)).bind_int(2, std::max(1, batch_limit));
    if (auto deleted = stats.run(); !deleted) return deleted.error();
    report.stats_rows_deleted = db.changes();
    report.more = report.more || report.stats_rows_deleted >= std::max(1, batch_limit);
    return report;
  });
}

Result<bool> SqliteStore::is_empty() {
  return read([&](SqliteConnection& db) -> Result<bool> {
    auto stmt = db.prepare(kAnythingStored);
    auto row = stmt.step();
    if (!row) return row.error();
    return !*row;
  });
}

Status SqliteStore::import_messages(std::span<const MessageRecord> records) {
  if (records.empty()) return {};
  return write([&](SqliteConnection& db) -> Status {
    AttemptRollup rollup;  // of the attempts this copy inserts: a copy run again adds nothing twice
    for (const auto& record : records) {
      auto message = db.prepare(kImportMessage);
      bind_message(SqliteParams(message), record.message);
      if (auto inserted = message.run(); !inserted) return explain(inserted.error(), "message", "workspace");
      for (const auto& delivery : record.deliveries) {
        auto stmt = db.prepare(kImportDelivery);
        bind_delivery(SqliteParams(stmt), delivery);
        if (auto inserted = stmt.run(); !inserted) return explain(inserted.error(), "delivery", "endpoint");
      }
      for (const auto& attempt : record.attempts) {
        auto stmt = db.prepare(kImportAttempt);
        bind_attempt(SqliteParams(stmt), attempt);
        if (auto inserted = stmt.run(); !inserted) return explain(inserted.error(), "attempt", "delivery");
        if (db.changes() > 0) add_to_rollup(rollup, attempt);
      }
    }
    return upsert_stats(db, rollup);
  });
}

}  // namespace ferry
