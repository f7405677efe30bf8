#pragma once

// The thin layer between PostgresStore and libpq: typed parameters and
// results, one connection with its prepared statements, an RAII transaction
// and a bounded pool. Nothing here knows the schema.
//
// Parameters and results travel in PostgreSQL's binary format with explicit
// types: values keep their exact bytes (payloads, idempotency keys), nothing
// is escaped or parsed as text, and a value that is not valid for its type is
// refused by the server instead of being silently cut.

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "store/pool_lease.hpp"

namespace ferry {

// Type OIDs of the built-in types Ferry binds and reads. They are fixed by
// PostgreSQL; the header that names them (catalog/pg_type.h) is a server header.
namespace pg_type {
inline constexpr Oid boolean = 16;
inline constexpr Oid bytea = 17;
inline constexpr Oid int8 = 20;
inline constexpr Oid int2 = 21;
inline constexpr Oid int4 = 23;
inline constexpr Oid text = 25;
inline constexpr Oid varchar = 1043;
inline constexpr Oid boolean_array = 1000;
inline constexpr Oid bytea_array = 1001;
inline constexpr Oid text_array = 1009;
inline constexpr Oid int8_array = 1016;
}  // namespace pg_type

// The channel every PostgresStore notifies and listens on.
inline constexpr std::string_view kPgChangesChannel = "ferry_changes";

// A one-dimensional array parameter (for unnest() in multi-row statements).
class PgArray {
 public:
  // `element_type`: pg_type::text, bytea, int8 or boolean.
  explicit PgArray(Oid element_type) : element_type_(element_type) {}

  PgArray& text(std::string_view value);  // text or bytea elements
  PgArray& integer(std::int64_t value);   // int8 elements
  PgArray& boolean(bool value);
  PgArray& null();
  PgArray& optional_text(const std::optional<std::string>& value);
  PgArray& optional_integer(std::optional<std::int64_t> value);

  std::size_t size() const { return count_; }
  Oid array_type() const;
  std::string encode() const;  // PostgreSQL's binary array format

 private:
  Oid element_type_;
  std::string elements_;  // length-prefixed elements, already in wire format
  std::size_t count_ = 0;
  bool has_null_ = false;
};

// A text[] literal of `values` ({"a","b"}), each element quoted and escaped.
std::string pg_array_literal(std::span<const std::string> values);

// The parameters of one statement, $1..$N in the order they are added.
class PgParams {
 public:
  PgParams& text(std::string_view value);
  PgParams& bytes(std::string_view value);  // bytea
  PgParams& integer(std::int64_t value);    // int8
  PgParams& boolean(bool value);
  PgParams& optional_text(const std::optional<std::string>& value);
  PgParams& optional_bytes(const std::optional<std::string>& value);
  PgParams& optional_integer(std::optional<std::int64_t> value);
  PgParams& array(const PgArray& value);
  PgParams& text_array(std::span<const std::string> values);

  int size() const { return static_cast<int>(types_.size()); }
  const std::vector<Oid>& types() const { return types_; }
  const std::vector<std::string>& values() const { return values_; }
  const std::vector<bool>& nulls() const { return nulls_; }

 private:
  PgParams& add(Oid type, std::string value, bool null = false);

  std::vector<Oid> types_;
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
};

// The rows of one statement, read column by column. Columns are 0-based.
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result, &PQclear) {}

  int rows() const { return PQntuples(result_.get()); }
  // Rows an INSERT, UPDATE or DELETE touched.
  std::int64_t affected() const;

  bool is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string text(int row, int column) const;      // text or bytea, exact bytes
  std::int64_t integer(int row, int column) const;  // int2, int4 or int8
  bool boolean(int row, int column) const;
  std::optional<std::string> optional_text(int row, int column) const;
  std::optional<std::int64_t> optional_integer(int row, int column) const;
  std::vector<std::string> text_array(int row, int column) const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

// One row of a result, for the readers in row_mapping.hpp.
class PgRow {
 public:
  PgRow(const PgResult& result, int row) : result_(result), row_(row) {}

  bool is_null(int column) const { return result_.is_null(row_, column); }
  std::string text(int column) const { return result_.text(row_, column); }
  std::string bytes(int column) const { return result_.text(row_, column); }  // text() reads bytea exactly too
  std::int64_t integer(int column) const { return result_.integer(row_, column); }
  bool boolean(int column) const { return result_.boolean(row_, column); }
  std::optional<std::string> optional_text(int column) const { return result_.optional_text(row_, column); }
  std::optional<std::int64_t> optional_integer(int column) const { return result_.optional_integer(row_, column); }
  std::vector<std::string> text_array(int column) const { return result_.text_array(row_, column); }

 private:
  const PgResult& result_;
  int row_;
};

// How a connection is opened.
struct PgConnectOptions {
  std::string url;  // postgresql://... or a libpq key=value string
  std::chrono::seconds connect_timeout{5};
};

// Turns a URL into something fit for a log line: the password, if any, is hidden.
std::string redact_url(std::string_view url);

// One libpq connection with its cache of prepared statements. Not
// thread-safe: the owner guarantees one thread at a time (a pool lease).
//
// Failures come back as Errors: unique violations as conflict, foreign key
// violations as not_found (a parent is missing), other integrity or data
// errors as bad_request, everything else (the server down, the connection
// lost, a deadlock, a timeout) as unavailable.
class PgConnection {
 public:
  static Result<std::unique_ptr<PgConnection>> connect(const PgConnectOptions& options);

  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement, prepared on first use and reused after that.
  Result<PgResult> query(std::string_view sql, const PgParams& params = {});
  // The same for statements whose rows are not wanted.
  Status exec(std::string_view sql, const PgParams& params = {});
  // Runs one or more ';'-separated statements without parameters or
  // preparing them (schema changes). A transaction the script began and that
  // failed is rolled back.
  Status script(const std::string& sql);

  // True when the connection is known to be unusable (lost, or left in a
  // transaction); the pool reconnects it before lending it again.
  bool broken() const;
  // True when the connection to the server is gone.
  bool lost() const;
  // Reconnects with the same options; forgets the prepared statements.
  Status reset();

  // Start of one use by a caller; see lost_before_any_work().
  void begin_use();
  // True when the connection was found lost on the very first statement of
  // the current use: nothing of the caller's work reached the server, so
  // the caller may run it again on another connection.
  bool lost_before_any_work() const { return lost_on_first_statement_; }

  // The SQLSTATE of the last failed statement ("" when none was given).
  const std::string& last_sqlstate() const { return last_sqlstate_; }

  PGconn* handle() const { return conn_; }

  // The pool's generation this connection was (re)opened in.
  std::uint64_t generation = 0;

 private:
  PgConnection(PGconn* conn, PgConnectOptions options) : conn_(conn), options_(std::move(options)) {}
  Result<std::string> prepared(std::string_view sql, const PgParams& params);
  Error failure(PGresult* result, std::string_view context);
  void count_statement();

  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };

  PGconn* conn_;
  PgConnectOptions options_;
  std::unordered_map<std::string, std::string, SqlHash, std::equal_to<>> statements_;  // SQL -> name
  bool lost_ = false;
  std::string last_sqlstate_;
  int statements_in_use_ = 0;
  bool lost_on_first_statement_ = false;
};

// Opens a connection with the options Ferry uses everywhere (timeouts,
// keepalives, application_name), for callers that drive libpq themselves.
Result<PGconn*> pg_connect_raw(const PgConnectOptions& options);

// A transaction on one connection; rolls back on destruction unless
// committed, so every early return undoes its writes.
class PgTransaction {
 public:
  static Result<PgTransaction> begin(PgConnection& connection);

  PgTransaction(PgTransaction&& other) noexcept : connection_(other.connection_) { other.connection_ = nullptr; }
  PgTransaction& operator=(PgTransaction&&) = delete;
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  ~PgTransaction();

  Status commit();

 private:
  explicit PgTransaction(PgConnection* connection) : connection_(connection) {}

  PgConnection* connection_;  // null once committed, rolled back or moved from
};

// At most `size` connections, each lent to one thread at a time. They are
// opened on demand. A connection found lost makes every idle one suspect
// (the server probably restarted), so each is reconnected before it is lent
// again: after an outage the store works again without being reopened.
class PgPool {
 public:
  using Lease = PoolLease<PgPool, PgConnection>;

  PgPool(PgConnectOptions options, int size, std::chrono::milliseconds acquire_timeout);

  // Waits up to the acquire timeout for a free connection.
  Result<Lease> acquire();

 private:
  friend Lease;
  void give_back(std::unique_ptr<PgConnection> connection);

  const PgConnectOptions options_;
  const int size_;
  const std::chrono::milliseconds acquire_timeout_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mutex_
  int open_ = 0;                                     // guarded by mutex_
  std::uint64_t generation_ = 0;                     // guarded by mutex_
};

}  // namespace ferry
