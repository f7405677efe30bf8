#pragma once

// The thin layer between SqliteStore and the SQLite C API: one connection with
// its cache of prepared statements, an RAII statement handle, an RAII
// transaction and a pool of read connections. Nothing here knows the schema.

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "store/pool_lease.hpp"

namespace ferry {

// Turns a failed SQLite call into an Error. Constraint violations are the
// caller's doing: unique / primary key => conflict, foreign key => not_found
// (the parent row is missing), other constraints => bad_request. Everything
// else is the database failing => unavailable, carrying SQLite's message.
Error sqlite_error(sqlite3* db, int rc, std::string_view context);

// True for errors that mean the database failed (as opposed to a refusal
// of one row); a batch stops on these.
bool is_database_failure(const Error& error);

// A statement borrowed from a connection's cache. Bind, then step or run.
// Errors of preparing and binding are kept and reported by the first
// step()/run(), so call sites check once. The destructor resets the
// statement and clears its bindings so the cache can hand it out again.
//
// Parameters are 1-based (?1, ?2, ...), columns 0-based, as in SQLite.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3_stmt* stmt, std::optional<Error> error);
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement();

  SqliteStatement& bind_text(int index, std::string_view value);
  SqliteStatement& bind_blob(int index, std::string_view value);
  SqliteStatement& bind_int(int index, std::int64_t value);
  SqliteStatement& bind_null(int index);
  SqliteStatement& bind_optional_text(int index, const std::optional<std::string>& value);
  SqliteStatement& bind_optional_int(int index, std::optional<std::int64_t> value);

  // Advances to the next row: true when a row is available, false when done.
  Result<bool> step();
  // Runs a statement to completion, ignoring any rows.
  Status run();

  std::string column_text(int index) const;
  std::string column_blob(int index) const;
  std::int64_t column_int(int index) const;
  bool column_is_null(int index) const;
  std::optional<std::string> column_optional_text(int index) const;
  std::optional<std::int64_t> column_optional_int(int index) const;

 private:
  void check_bind(int rc, int index);

  sqlite3_stmt* stmt_;
  std::optional<Error> error_;  // the first failure before stepping
};

// One SQLite connection. Not thread-safe: the owner guarantees one thread
// at a time (the writer's mutex, or a reader pool lease).
class SqliteConnection {
 public:
  // A checkpointer (see SqliteCheckpointer) reads and writes only the
  // database file, never a row.
  enum class Role { writer, reader, checkpointer };

  // Opens `path` with the pragmas Ferry relies on: WAL (writer sets it; it is
  // persistent in the file), synchronous=FULL so a COMMIT is on disk when it
  // returns, foreign keys for the cascades, a busy timeout for other
  // processes. A reader is query_only and never creates the file.
  static Result<std::unique_ptr<SqliteConnection>> open(const std::string& path, Role role);

  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // A cached prepared statement for `sql` (one statement). Never fails here;
  // a preparation error is reported by the statement's step()/run().
  SqliteStatement prepare(std::string_view sql);
  // Prepares (cached) and runs one statement that returns nothing useful.
  Status exec(std::string_view sql);
  // Runs several ';'-separated statements, uncached (schema migrations).
  Status exec_script(const std::string& sql);

  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  std::int64_t changes() const;
  sqlite3* handle() const { return db_; }

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  Status configure(Role role);

  // Heterogeneous lookup, so finding a cached statement does not copy the SQL.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> statements_;
};

// A transaction on one connection; rolls back on destruction unless
// committed, so every early return undoes its writes.
class SqliteTransaction {
 public:
  // immediate takes the write lock at BEGIN, so a write transaction cannot
  // fail half-way with SQLITE_BUSY when it upgrades from reading to writing.
  enum class Kind { deferred, immediate };

  static Result<SqliteTransaction> begin(SqliteConnection& connection, Kind kind);

  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  ~SqliteTransaction();

  Status commit();

 private:
  explicit SqliteTransaction(SqliteConnection* connection) : connection_(connection) {}

  SqliteConnection* connection_;  // null once committed, rolled back or moved from
};

// Read connections, each lent to one thread at a time. In WAL mode they read
// the last committed state while the writer works, so reads never queue
// behind writes. Connections are opened on demand (one per concurrently
// reading thread) and at most `max_idle` are kept. Safe for concurrent use.
class SqliteReaderPool {
 public:
  using Lease = PoolLease<SqliteReaderPool, SqliteConnection>;

  SqliteReaderPool(std::string path, std::size_t max_idle) : path_(std::move(path)), max_idle_(max_idle) {}

  Result<Lease> acquire();

 private:
  friend Lease;
  void give_back(std::unique_ptr<SqliteConnection> connection);

  const std::string path_;
  const std::size_t max_idle_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_;  // guarded by mutex_
};

}  // namespace ferry
