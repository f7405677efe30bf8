#include "store/sqlite_connection.hpp"

#include <mutex>
#include <string>
#include <system_error>
#include <utility>

namespace ferry {

namespace {

// How long a connection waits for a lock held by another process (a backup
// tool, the sqlite3 shell) before giving up with SQLITE_BUSY.
constexpr int kBusyTimeoutMs = 5000;

// SQLite treats a null pointer as NULL, but an empty std::string_view may
// carry one; an empty value must stay an empty value.
const char* non_null(std::string_view value) { return value.data() != nullptr ? value.data() : ""; }

std::string bytes_of(const void* data, int size) {
  if (data == nullptr || size <= 0) return {};
  return std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

// The OS's reason for the last failed read or write of the database or its
// WAL, as " (Read-only file system)"; SQLite keeps it per file, while the
// errno it saves per connection is often stale by the time it reports.
std::string os_reason(sqlite3* db) {
  int os_error = 0;
  sqlite3_file* journal = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &journal) == SQLITE_OK && journal != nullptr &&
      journal->pMethods != nullptr) {
    journal->pMethods->xFileControl(journal, SQLITE_FCNTL_LAST_ERRNO, &os_error);
  }
  if (os_error == 0) sqlite3_file_control(db, "main", SQLITE_FCNTL_LAST_ERRNO, &os_error);
  if (os_error == 0) return {};
  return " (" + std::generic_category().message(os_error) + ")";
}

}  // namespace

Error sqlite_error(sqlite3* db, int rc, std::string_view context) {
  std::string message(context);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  // "disk I/O error" alone does not tell an operator whether the disk is
  // read-only, full or failing.
  const int primary = rc & 0xff;
  if (db != nullptr && (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY)) {
    message += os_reason(db);
  }
  switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE: return make_error(ErrorCode::conflict, std::move(message));
    case SQLITE_CONSTRAINT_FOREIGNKEY: return make_error(ErrorCode::not_found, std::move(message));
    default: break;
  }
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return make_error(ErrorCode::bad_request, std::move(message));
  return make_error(ErrorCode::unavailable, std::move(message));
}

bool is_database_failure(const Error& error) {
  return error.code == ErrorCode::unavailable || error.code == ErrorCode::internal;
}

// --- SqliteStatement

SqliteStatement::SqliteStatement(sqlite3_stmt* stmt, std::optional<Error> error)
    : stmt_(stmt), error_(std::move(error)) {}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), error_(std::move(other.error_)) {}

SqliteStatement::~SqliteStatement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void SqliteStatement::check_bind(int rc, int index) {
  if (rc == SQLITE_OK || error_) return;
  error_ = sqlite_error(sqlite3_db_handle(stmt_), rc, "binding parameter " + std::to_string(index));
}

SqliteStatement& SqliteStatement::bind_text(int index, std::string_view value) {
  if (stmt_ != nullptr) {
    check_bind(sqlite3_bind_text64(stmt_, index, non_null(value), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8), index);
  }
  return *this;
}

SqliteStatement& SqliteStatement::bind_blob(int index, std::string_view value) {
  if (stmt_ != nullptr) {
    check_bind(sqlite3_bind_blob64(stmt_, index, non_null(value), value.size(), SQLITE_TRANSIENT), index);
  }
  return *this;
}

SqliteStatement& SqliteStatement::bind_int(int index, std::int64_t value) {
  if (stmt_ != nullptr) check_bind(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

SqliteStatement& SqliteStatement::bind_null(int index) {
  if (stmt_ != nullptr) check_bind(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

SqliteStatement& SqliteStatement::bind_optional_text(int index, const std::optional<std::string>& value) {
  return value ? bind_text(index, *value) : bind_null(index);
}

SqliteStatement& SqliteStatement::bind_optional_int(int index, std::optional<std::int64_t> value) {
  return value ? bind_int(index, *value) : bind_null(index);
}

Result<bool> SqliteStatement::step() {
  if (error_) return *error_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // Keep the error: stepping again after a failure would restart the statement.
  error_ = sqlite_error(sqlite3_db_handle(stmt_), rc, "executing statement");
  return *error_;
}

Status SqliteStatement::run() {
  for (;;) {
    auto row = step();
    if (!row) return row.error();
    if (!*row) return {};
  }
}

std::string SqliteStatement::column_text(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  return bytes_of(text, sqlite3_column_bytes(stmt_, index));
}

std::string SqliteStatement::column_blob(int index) const {
  const void* blob = sqlite3_column_blob(stmt_, index);
  return bytes_of(blob, sqlite3_column_bytes(stmt_, index));
}

std::int64_t SqliteStatement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }

bool SqliteStatement::column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

std::optional<std::string> SqliteStatement::column_optional_text(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return column_text(index);
}

std::optional<std::int64_t> SqliteStatement::column_optional_int(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return column_int(index);
}

// --- SqliteConnection

namespace {
// SQLite counts every allocation under one global mutex unless told not
// to; Ferry never reads those counts, and each insert allocates several
// times. Only possible before SQLite initializes: if something else in the
// process got there first, the call fails and the counting stays.
void configure_sqlite_once() {
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}
}  // namespace

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::open(const std::string& path, Role role) {
  configure_sqlite_once();
  // NOMUTEX: each connection is used by one thread at a time (see the class
  // comment), so SQLite's own per-connection mutex would be pure overhead.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (role == Role::writer) flags |= SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  // sqlite3_open_v2 allocates a handle even when it fails; the connection owns it either way.
  std::unique_ptr<SqliteConnection> connection(new SqliteConnection(db));
  if (rc != SQLITE_OK) return sqlite_error(db, rc, "opening " + path);
  if (auto configured = connection->configure(role); !configured) return configured.error();
  return connection;
}

namespace {
constexpr std::string_view kWriterCacheSize = "PRAGMA cache_size=-65536";  // KiB: 64 MiB
}  // namespace

Status SqliteConnection::configure(Role role) {
  sqlite3_extended_result_codes(db_, 1);  // tells a UNIQUE violation from a FOREIGN KEY one
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  if (role == Role::writer) {
    // journal_mode answers with the mode in force; a file system without
    // shared memory support silently keeps the rollback journal.
    auto mode = prepare("PRAGMA journal_mode=WAL");
    auto row = mode.step();
    if (!row) return row.error();
    if (!*row || mode.column_text(0) != "wal") {
      return make_error(ErrorCode::unavailable, "sqlite: WAL journal mode is not available for this database");
    }
  }
  // temp_store=MEMORY keeps statement journals in memory: every message of
  // a publish runs in a savepoint whose journal would otherwise spill to a
  // temporary file past 64 KiB, one pwrite per page the message touches.
  for (const char* pragma : {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON", "PRAGMA temp_store=MEMORY"}) {
    if (auto done = exec(pragma); !done) return done;
  }
  // A reader must never write: the writer's mutex is what serializes writes.
  if (role == Role::reader) return exec("PRAGMA query_only=ON");
  if (role == Role::checkpointer) return {};
  // The writer walks the indexes of every table on each publish, claim and
  // record; with SQLite's default 2 MiB cache it re-reads their pages from
  // the OS (one pread each) as soon as the tables outgrow it.
  return exec(kWriterCacheSize);
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

SqliteStatement SqliteConnection::prepare(std::string_view sql) {
  if (auto cached = statements_.find(sql); cached != statements_.end()) return SqliteStatement(cached->second, {});
  sqlite3_stmt* stmt = nullptr;
  // PERSISTENT: these statements live as long as the connection.
  const int rc =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK || stmt == nullptr) {
    sqlite3_finalize(stmt);
    if (rc == SQLITE_OK) return SqliteStatement(nullptr, make_error(ErrorCode::internal, "sqlite: empty statement"));
    return SqliteStatement(nullptr, sqlite_error(db_, rc, "preparing statement"));
  }
  statements_.emplace(std::string(sql), stmt);
  return SqliteStatement(stmt, {});
}

Status SqliteConnection::exec(std::string_view sql) { return prepare(sql).run(); }

Status SqliteConnection::exec_script(const std::string& sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  std::string text = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return make_error(ErrorCode::unavailable, "sqlite: " + text);
}

std::int64_t SqliteConnection::changes() const { return sqlite3_changes64(db_); }

// --- SqliteTransaction

Result<SqliteTransaction> SqliteTransaction::begin(SqliteConnection& connection, Kind kind) {
  const auto sql = kind == Kind::immediate ? std::string_view("BEGIN IMMEDIATE") : std::string_view("BEGIN");
  if (auto begun = connection.exec(sql); !begun) return begun.error();
  return SqliteTransaction(&connection);
}

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept
    : connection_(std::exchange(other.connection_, nullptr)) {}

SqliteTransaction::~SqliteTransaction() {
  // After some errors (e.g. SQLITE_FULL) SQLite has already rolled back;
  // only roll back what is still open.
  if (connection_ != nullptr && sqlite3_get_autocommit(connection_->handle()) == 0) {
    (void)connection_->exec("ROLLBACK");
  }
}

Status SqliteTransaction::commit() {
  if (connection_ == nullptr) return make_error(ErrorCode::internal, "sqlite: commit of a finished transaction");
  auto committed = connection_->exec("COMMIT");
  // A failed COMMIT leaves the transaction open; the destructor rolls it back.
  if (committed) connection_ = nullptr;
  return committed;
}

// --- SqliteReaderPool

Result<SqliteReaderPool::Lease> SqliteReaderPool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(connection));
    }
  }
  // Opened outside the lock: opening touches the disk and must not hold up
  // threads that only want an idle connection.
  auto opened = SqliteConnection::open(path_, SqliteConnection::Role::reader);
  if (!opened) return opened.error();
  return Lease(this, std::move(*opened));
}

void SqliteReaderPool::give_back(std::unique_ptr<SqliteConnection> connection) {
  std::lock_guard lock(mutex_);
  // Beyond max_idle_ the connection is simply closed: a burst of readers
  // should not keep file handles and caches forever.
  if (idle_.size() < max_idle_) idle_.push_back(std::move(connection));
}

}  // namespace ferry
