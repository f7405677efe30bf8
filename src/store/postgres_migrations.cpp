#include "store/postgres_migrations.hpp"

#include <array>
#include <string>

#include "store/migration_steps.hpp"
#include "store/postgres_connection.hpp"

namespace ferry {

namespace {

// Version 1: the initial schema.
//
// Every row that belongs to a workspace is keyed by (workspace_id, ...) and
// the workspace's removal cascades to it. Identifiers compare byte by byte
// (COLLATE "C") whatever the database's locale, so pages come in the same
// order as on SQLite. Times are milliseconds since the epoch (bigint).
//
// messages and attempts, the tables that grow without bound, are
// partitioned by day on their time column (messages_p20261123, ...):
// retention drops whole days. There is no DEFAULT partition: the store
// creates each day's partition before writing into it (see
// postgres_partitions.hpp). A unique constraint on a partitioned table must
// include the partition key, so message ids and idempotency keys are made
// unique through message_keys instead: one row per id ("i:" + id) and per
// producer key ("k:" + key), pointing at the message that owns it.
//
// deliveries is a plain table: its open rows are the scheduler's queue and
// are found through the partial index deliveries_due. leased_until and
// lease_token implement claims shared between processes; message_created_at
// locates a delivery's message partition and drives retention.
constexpr std::string_view kInitialSchema = R"sql(
CREATE TABLE workspaces (
  id         text COLLATE "C" NOT NULL PRIMARY KEY,
  name       text   NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);

CREATE TABLE api_keys (
  workspace_id text COLLATE "C" NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  id           text COLLATE "C" NOT NULL,
  name         text   NOT NULL,
  token_prefix text   NOT NULL,
  token_hash   text COLLATE "C" NOT NULL UNIQUE,
  created_at   bigint NOT NULL,
  PRIMARY KEY (workspace_id, id)
);

CREATE TABLE event_types (
  name        text COLLATE "C" NOT NULL PRIMARY KEY,
  group_name  text    NOT NULL,
  description text    NOT NULL,
  schema_json text    NOT NULL,
  examples    text[]  NOT NULL,
  flags       text[]  NOT NULL,
  archived    boolean NOT NULL,
  created_at  bigint  NOT NULL,
  updated_at  bigint  NOT NULL
);

CREATE TABLE endpoints (
  workspace_id    text COLLATE "C" NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  id              text COLLATE "C" NOT NULL,
  url             text    NOT NULL,
  description     text    NOT NULL,
  secrets         text[]  NOT NULL,
  filter_types    text[]  NOT NULL,
  profile         text    NOT NULL,
  headers         text    NOT NULL,  -- JSON array of [name, value] pairs
  rate_limit      integer,
  enabled         boolean NOT NULL,
  disabled_reason text    NOT NULL,
  created_at      bigint  NOT NULL,
  updated_at      bigint  NOT NULL,
  PRIMARY KEY (workspace_id, id)
);

CREATE TABLE messages (
  workspace_id    text COLLATE "C" NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  id              text COLLATE "C" NOT NULL,
  type            text COLLATE "C" NOT NULL,
  payload         bytea   NOT NULL,
  created_at      bigint  NOT NULL,
  idempotency_key bytea,  -- set while this message owns the key
  test            boolean NOT NULL,
  PRIMARY KEY (workspace_id, id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX messages_type ON messages (workspace_id, type, id);
CREATE INDEX messages_created ON messages (created_at);

CREATE TABLE message_keys (
  workspace_id text COLLATE "C" NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  key          bytea  NOT NULL,  -- 'i:' || id, or 'k:' || idempotency key
  message_id   text COLLATE "C" NOT NULL,
  created_at   bigint NOT NULL,  -- the message's
  PRIMARY KEY (workspace_id, key)
);
CREATE INDEX message_keys_created ON message_keys (created_at);

CREATE TABLE deliveries (
  workspace_id       text COLLATE "C" NOT NULL,
  id                 text COLLATE "C" NOT NULL,
  message_id         text COLLATE "C" NOT NULL,
  message_created_at bigint  NOT NULL,
  endpoint_id        text COLLATE "C" NOT NULL,
  state              text    NOT NULL CHECK (state IN ('pending', 'retrying', 'succeeded', 'failed')),
  attempt_count      integer NOT NULL,
  next_attempt_at    bigint  NOT NULL,
  leased_until       bigint,
  lease_token        bigint  NOT NULL DEFAULT 0,
  created_at         bigint  NOT NULL,
  updated_at         bigint  NOT NULL,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, endpoint_id) REFERENCES endpoints (workspace_id, id) ON DELETE CASCADE
);
-- The scheduler's queue: only open rows, oldest due first.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_open_by_endpoint ON deliveries (workspace_id, endpoint_id)
  WHERE state IN ('pending', 'retrying');
CREATE INDEX deliveries_endpoint ON deliveries (workspace_id, endpoint_id, id);
CREATE INDEX deliveries_message ON deliveries (workspace_id, message_id, id);
CREATE INDEX deliveries_message_created ON deliveries (message_created_at);

CREATE TABLE attempts (
  workspace_id     text COLLATE "C" NOT NULL,
  id               text COLLATE "C" NOT NULL,
  delivery_id      text COLLATE "C" NOT NULL,
  message_id       text COLLATE "C" NOT NULL,
  endpoint_id      text COLLATE "C" NOT NULL,
  attempt_number   integer NOT NULL,
  started_at       bigint  NOT NULL,
  latency_us       bigint  NOT NULL,
  url              text    NOT NULL,
  request_headers  text    NOT NULL,  -- JSON array of [name, value] pairs
  response_status  integer,
  response_headers text    NOT NULL,
  response_body    bytea   NOT NULL,
  error            text    NOT NULL,
  error_detail     text    NOT NULL,
  PRIMARY KEY (workspace_id, id, started_at),
  FOREIGN KEY (workspace_id, delivery_id) REFERENCES deliveries (workspace_id, id) ON DELETE CASCADE
) PARTITION BY RANGE (started_at);
CREATE INDEX attempts_delivery ON attempts (workspace_id, delivery_id, id);
CREATE INDEX attempts_message ON attempts (workspace_id, message_id, id);
CREATE INDEX attempts_endpoint ON attempts (workspace_id, endpoint_id, id);
)sql";

// Catalogs: event types are named within their catalog; a workspace names
// the catalog it publishes from and its endpoints' default wire profile;
// messages keep their type's flags (PASSIVE) as published.
constexpr std::string_view kCatalogs = R"sql(
CREATE TABLE catalogs (
  name       text COLLATE "C" NOT NULL PRIMARY KEY,
  document   text   NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
ALTER TABLE event_types ADD COLUMN catalog text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE event_types DROP CONSTRAINT event_types_pkey;
ALTER TABLE event_types ADD PRIMARY KEY (catalog, name);
ALTER TABLE workspaces ADD COLUMN catalog text NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN profile text NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN validate_payloads boolean NOT NULL DEFAULT true;
ALTER TABLE workspaces ADD COLUMN test_mode boolean NOT NULL DEFAULT false;
ALTER TABLE messages ADD COLUMN flags text[] NOT NULL DEFAULT '{}';
)sql";

// Delivery statistics: attempts summed per endpoint and minute, written in
// the transaction that records them (see store/attempt_stats_sql.hpp for the
// columns); integer counts (a minute of one endpoint stays far below 2^31),
// summed as bigint. A plain table, not partitioned: it holds a row per
// endpoint and active minute, a small fraction of attempts, and retention
// deletes its old minutes in batches along attempt_stats_minute. The rows
// go with their endpoint. An endpoint's failed attempts get a partial index
// of their own, so a listing of its last failures skips its successes.
constexpr std::string_view kAttemptStats = R"sql(
CREATE TABLE attempt_stats (
  workspace_id     text COLLATE "C" NOT NULL,
  endpoint_id      text COLLATE "C" NOT NULL,
  minute_ms        bigint  NOT NULL,
  attempts         integer NOT NULL,
  succeeded        integer NOT NULL,
  failed           integer NOT NULL,
  latency_max_us   bigint  NOT NULL,
  latency_le_1     integer NOT NULL,
  latency_le_2     integer NOT NULL,
  latency_le_5     integer NOT NULL,
  latency_le_10    integer NOT NULL,
  latency_le_20    integer NOT NULL,
  latency_le_50    integer NOT NULL,
  latency_le_100   integer NOT NULL,
  latency_le_200   integer NOT NULL,
  latency_le_500   integer NOT NULL,
  latency_le_1000  integer NOT NULL,
  latency_le_2000  integer NOT NULL,
  latency_le_5000  integer NOT NULL,
  latency_le_10000 integer NOT NULL,
  latency_le_30000 integer NOT NULL,
  latency_over     integer NOT NULL,
  PRIMARY KEY (workspace_id, endpoint_id, minute_ms),
  FOREIGN KEY (workspace_id, endpoint_id) REFERENCES endpoints (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX attempt_stats_minute ON attempt_stats (minute_ms);
CREATE INDEX attempts_endpoint_failed ON attempts (workspace_id, endpoint_id, id)
  WHERE (response_status IS NULL OR response_status < 200 OR response_status >= 300);
)sql";

// The message log's filters and recovery, without walking every message
// (the same indexes as SQLite's step 6):
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

constexpr std::array kMigrations{
    PgMigration{1, kInitialSchema},
    PgMigration{2, kCatalogs},
    PgMigration{3, kAttemptStats},
    PgMigration{4, kLogFiltersAndRecovery},
};

// Any constant works as long as every Ferry process uses the same one.
constexpr std::int64_t kMigrationLock = 0x6665727279'01;  // "ferry", 1

Result<int> current_version(PgConnection& connection) {
  auto result = connection.query("SELECT COALESCE(MAX(version), 0)::bigint FROM schema_migrations");
  if (!result) return result.error();
  return static_cast<int>(result->integer(0, 0));
}

Status apply_one(PgConnection& connection, const PgMigration& migration, UnixMillis now_ms) {
  auto transaction = PgTransaction::begin(connection);
  if (!transaction) return transaction.error();
  if (auto applied = connection.script(std::string(migration.sql)); !applied) {
    return migration_failed(migration.version, applied.error());
  }
  PgParams params;
  params.integer(migration.version).integer(now_ms);
  if (auto recorded = connection.exec("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", params);
      !recorded) {
    return recorded;
  }
  return transaction->commit();
}

Status apply_locked(PgConnection& connection, UnixMillis now_ms) {
  if (auto created =
          connection.script("CREATE TABLE IF NOT EXISTS schema_migrations (version integer NOT NULL PRIMARY KEY, "
                            "applied_at bigint NOT NULL)");
      !created) {
    return created;
  }
  // Read under the lock: another process may have migrated while we waited.
  return apply_newer_steps(postgres_migrations(), current_version(connection), "postgresql",
                           [&](const PgMigration& migration) { return apply_one(connection, migration, now_ms); });
}

}  // namespace

std::span<const PgMigration> postgres_migrations() { return kMigrations; }

Status apply_postgres_migrations(PgConnection& connection, UnixMillis now_ms) {
  PgParams lock;
  lock.integer(kMigrationLock);
  if (auto locked = connection.exec("SELECT pg_advisory_lock($1)", lock); !locked) return locked;
  Status applied = apply_locked(connection, now_ms);
  // A lost connection released the lock with its session.
  if (auto unlocked = connection.exec("SELECT pg_advisory_unlock($1)", lock); !unlocked && applied) {
    return unlocked;
  }
  return applied;
}

}  // namespace ferry
