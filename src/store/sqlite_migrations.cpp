#include "store/sqlite_migrations.hpp"

#include <array>
#include <string>

#include "store/migration_steps.hpp"
#include "store/sqlite_connection.hpp"

namespace ferry {

namespace {

// Version 1: the initial schema.
//
// Rows that belong to a workspace are keyed (workspace_id, id) and reference
// their parents with ON DELETE CASCADE, so deleting a workspace or an endpoint
// removes everything below it in the same statement. Lists (secrets, filters,
// headers, examples, flags) are JSON arrays in TEXT columns: they are read and
// written whole, never queried. Payloads and response bodies are BLOBs so
// their bytes come back exactly as given.
constexpr std::string_view kInitialSchema = R"sql(
CREATE TABLE workspaces (
  id         TEXT    NOT NULL PRIMARY KEY,
  name       TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
  workspace_id TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  id           TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  token_prefix TEXT    NOT NULL,
  token_hash   TEXT    NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, id)
);

CREATE TABLE event_types (
  name          TEXT    NOT NULL PRIMARY KEY,
  group_name    TEXT    NOT NULL,
  description   TEXT    NOT NULL,
  schema_json   TEXT    NOT NULL,
  examples_json TEXT    NOT NULL,
  flags         TEXT    NOT NULL,
  archived      INTEGER NOT NULL CHECK (archived IN (0, 1)),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);

CREATE TABLE endpoints (
  workspace_id    TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  id              TEXT    NOT NULL,
  url             TEXT    NOT NULL,
  description     TEXT    NOT NULL,
  secrets         TEXT    NOT NULL,
  filter_types    TEXT    NOT NULL,
  profile         TEXT    NOT NULL,
  headers         TEXT    NOT NULL,
  rate_limit      INTEGER,
  enabled         INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  disabled_reason TEXT    NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, id)
);

CREATE TABLE messages (
  workspace_id    TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  id              TEXT    NOT NULL,
  type            TEXT    NOT NULL,
  payload         BLOB    NOT NULL,
  created_at      INTEGER NOT NULL,
  idempotency_key TEXT,
  test            INTEGER NOT NULL CHECK (test IN (0, 1)),
  PRIMARY KEY (workspace_id, id)
);
-- Idempotency look-ups; a key expires by being set to NULL, which also takes
-- the row out of this index.
CREATE UNIQUE INDEX messages_idempotency_key ON messages (workspace_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_type ON messages (workspace_id, type, id);

CREATE TABLE deliveries (
  workspace_id    TEXT    NOT NULL,
  id              TEXT    NOT NULL,
  message_id      TEXT    NOT NULL,
  endpoint_id     TEXT    NOT NULL,
  state           TEXT    NOT NULL CHECK (state IN ('pending', 'retrying', 'succeeded', 'failed')),
  attempt_count   INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  leased_until    INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, message_id) REFERENCES messages (workspace_id, id) ON DELETE CASCADE,
  FOREIGN KEY (workspace_id, endpoint_id) REFERENCES endpoints (workspace_id, id) ON DELETE CASCADE
);
-- The scheduler's queue. Partial, so the millions of finished deliveries
-- cost it nothing: claiming walks only open rows, oldest due first.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state IN ('pending', 'retrying');
-- Failing an endpoint's open deliveries (on disable) without scanning its history.
CREATE INDEX deliveries_open_by_endpoint ON deliveries (workspace_id, endpoint_id)
  WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_endpoint ON deliveries (workspace_id, endpoint_id, id);
CREATE INDEX deliveries_message ON deliveries (workspace_id, message_id, id);

CREATE TABLE attempts (
  workspace_id     TEXT    NOT NULL,
  id               TEXT    NOT NULL,
  delivery_id      TEXT    NOT NULL,
  message_id       TEXT    NOT NULL,
  endpoint_id      TEXT    NOT NULL,
  attempt_number   INTEGER NOT NULL,
  started_at       INTEGER NOT NULL,
  latency_us       INTEGER NOT NULL,
  url              TEXT    NOT NULL,
  request_headers  TEXT    NOT NULL,
  response_status  INTEGER,
  response_headers TEXT    NOT NULL,
  response_body    BLOB    NOT NULL,
  error            TEXT    NOT NULL,
  error_detail     TEXT    NOT NULL,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, delivery_id) REFERENCES deliveries (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX attempts_delivery ON attempts (workspace_id, delivery_id, id);
CREATE INDEX attempts_message ON attempts (workspace_id, message_id, id);
CREATE INDEX attempts_endpoint ON attempts (workspace_id, endpoint_id, id);
)sql";

// Several processes may share one database (PostgreSQL) and SQLite keeps the
// same contract: a claim's token guards its outcome against a takeover.
// Retention walks messages by age.
constexpr std::string_view kLeaseTokensAndRetention = R"sql(
ALTER TABLE deliveries ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_created ON messages (created_at);
)sql";

// Catalogs: event types are named within their catalog, so two products'
// campaign.created can live side by side; a workspace names the catalog it
// publishes from and the wire profile of its endpoints. Messages keep their
// type's flags (PASSIVE) as published.
constexpr std::string_view kCatalogs = R"sql(
CREATE TABLE catalogs (
  name       TEXT    NOT NULL PRIMARY KEY,
  document   TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE event_types_v3 (
  catalog       TEXT    NOT NULL DEFAULT '',
  name          TEXT    NOT NULL,
  group_name    TEXT    NOT NULL,
  description   TEXT    NOT NULL,
  schema_json   TEXT    NOT NULL,
  examples_json TEXT    NOT NULL,
  flags         TEXT    NOT NULL,
  archived      INTEGER NOT NULL CHECK (archived IN (0, 1)),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (catalog, name)
);
INSERT INTO event_types_v3 (catalog, name, group_name, description, schema_json, examples_json, flags, archived,
                            created_at, updated_at)
  SELECT '', name, group_name, description, schema_json, examples_json, flags, archived, created_at, updated_at
  FROM event_types;
DROP TABLE event_types;
ALTER TABLE event_types_v3 RENAME TO event_types;
ALTER TABLE workspaces ADD COLUMN catalog TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN profile TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN validate_payloads INTEGER NOT NULL DEFAULT 1 CHECK (validate_payloads IN (0, 1));
ALTER TABLE workspaces ADD COLUMN test_mode INTEGER NOT NULL DEFAULT 0 CHECK (test_mode IN (0, 1));
ALTER TABLE messages ADD COLUMN flags TEXT NOT NULL DEFAULT '[]';
)sql";

// Claims that leave saturated endpoints out take every other endpoint's due
// work from this index, instead of walking the left-out endpoints' whole
// backlog along deliveries_due. It still serves failing an endpoint's open
// deliveries (its first two columns are the old index).
constexpr std::string_view kDueByEndpoint = R"sql(
DROP INDEX deliveries_open_by_endpoint;
CREATE INDEX deliveries_open_by_endpoint ON deliveries (workspace_id, endpoint_id, next_attempt_at)
  WHERE state IN ('pending', 'retrying');
)sql";

// Delivery statistics: attempts summed per endpoint and minute, written in
// the transaction that records them (see store/attempt_stats_sql.hpp for the
// columns). WITHOUT ROWID: the rows live in their key's b-tree, so an upsert
// touches that tree alone (and attempt_stats_minute when a minute starts);
// retention walks attempt_stats_minute. The rows go with their endpoint.
// An endpoint's failed attempts get a partial index of their own, so a
// listing of its last failures skips its successes.
constexpr std::string_view kAttemptStats = R"sql(
CREATE TABLE attempt_stats (
  workspace_id     TEXT    NOT NULL,
  endpoint_id      TEXT    NOT NULL,
  minute_ms        INTEGER NOT NULL,
  attempts         INTEGER NOT NULL,
  succeeded        INTEGER NOT NULL,
  failed           INTEGER NOT NULL,
  latency_max_us   INTEGER NOT NULL,
  latency_le_1     INTEGER NOT NULL,
  latency_le_2     INTEGER NOT NULL,
  latency_le_5     INTEGER NOT NULL,
  latency_le_10    INTEGER NOT NULL,
  latency_le_20    INTEGER NOT NULL,
  latency_le_50    INTEGER NOT NULL,
  latency_le_100   INTEGER NOT NULL,
  latency_le_200   INTEGER NOT NULL,
  latency_le_500   INTEGER NOT NULL,
  latency_le_1000  INTEGER NOT NULL,
  latency_le_2000  INTEGER NOT NULL,
  latency_le_5000  INTEGER NOT NULL,
  latency_le_10000 INTEGER NOT NULL,
  latency_le_30000 INTEGER NOT NULL,
  latency_over     INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, endpoint_id, minute_ms),
  FOREIGN KEY (workspace_id, endpoint_id) REFERENCES endpoints (workspace_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX attempt_stats_minute ON attempt_stats (minute_ms);
CREATE INDEX attempts_endpoint_failed ON attempts (workspace_id, endpoint_id, id)
  WHERE (response_status IS NULL OR response_status < 200 OR response_status >= 300);
)sql";

// The message log's filters and recovery, without walking every message:
// - deliveries_endpoint_message: a workspace's messages that have a delivery
//   to one endpoint, newest message first (written once, at publish);
// - deliveries_open_message and deliveries_failed_message: those with an
//   open or a failed delivery (partial: succeeded rows, most of them, cost
//   nothing, and each row is in one of them at most);
// - deliveries_failed_by_endpoint: an endpoint's failed deliveries by
//   creation time, which recovery makes due again batch by batch.
constexpr std::string_view kLogFiltersAndRecovery = R"sql(
CREATE INDEX deliveries_endpoint_message ON deliveries (workspace_id, endpoint_id, message_id);
CREATE INDEX deliveries_open_message ON deliveries (workspace_id, message_id) WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_failed_message ON deliveries (workspace_id, message_id) WHERE state = 'failed';
CREATE INDEX deliveries_failed_by_endpoint ON deliveries (workspace_id, endpoint_id, created_at, id)
  WHERE state = 'failed';
)sql";

// A message's attempts are found through its deliveries
// (deliveries_message, then attempts_delivery): one index entry less to
// write for every attempt, on the recorder's path.
constexpr std::string_view kAttemptsThroughDeliveries = R"sql(
DROP INDEX attempts_message;
)sql";

constexpr std::array kMigrations{
    SqliteMigration{1, kInitialSchema}, SqliteMigration{2, kLeaseTokensAndRetention},
    SqliteMigration{3, kCatalogs},      SqliteMigration{4, kDueByEndpoint},
    SqliteMigration{5, kAttemptStats},  SqliteMigration{6, kLogFiltersAndRecovery},
    SqliteMigration{7, kAttemptsThroughDeliveries},
};

Result<int> current_version(SqliteConnection& connection) {
  auto stmt = connection.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  auto row = stmt.step();
  if (!row) return row.error();
  return *row ? static_cast<int>(stmt.column_int(0)) : 0;
}

Status apply_one(SqliteConnection& connection, const SqliteMigration& migration, UnixMillis now_ms) {
  auto transaction = SqliteTransaction::begin(connection, SqliteTransaction::Kind::immediate);
  if (!transaction) return transaction.error();
  // Read again under the write lock: another process opening the same file
  // may have applied this step since we looked.
  auto version = current_version(connection);
  if (!version) return version.error();
  if (*version >= migration.version) return {};
  if (auto applied = connection.exec_script(std::string(migration.sql)); !applied) {
    return migration_failed(migration.version, applied.error());
  }
  auto record = connection.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)");
  record.bind_int(1, migration.version).bind_int(2, now_ms);
  if (auto recorded = record.run(); !recorded) return recorded;
  return transaction->commit();
}

}  // namespace

std::span<const SqliteMigration> sqlite_migrations() { return kMigrations; }

Status apply_sqlite_migrations(SqliteConnection& connection, UnixMillis now_ms) {
  if (auto created = connection.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                                     "version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)");
      !created) {
    return created;
  }
  return apply_newer_steps(sqlite_migrations(), current_version(connection), "sqlite",
                           [&](const SqliteMigration& migration) { return apply_one(connection, migration, now_ms); });
}

}  // namespace ferry
