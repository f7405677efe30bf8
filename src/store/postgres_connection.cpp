#include "store/postgres_connection.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

namespace ferry {

std::string pg_array_literal(std::span<const std::string> values) {
  std::string literal = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) literal += ',';
    literal += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return literal;
}

namespace {

// --- binary wire format: big-endian integers

void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

void put_i32(std::string& out, std::int32_t value) { put_u32(out, static_cast<std::uint32_t>(value)); }

void put_i64(std::string& out, std::int64_t value) {
  const auto bits = static_cast<std::uint64_t>(value);
  put_u32(out, static_cast<std::uint32_t>(bits >> 32));
  put_u32(out, static_cast<std::uint32_t>(bits & 0xffffffffU));
}

std::uint64_t get_unsigned(const char* data, int length) {
  std::uint64_t value = 0;
  for (int i = 0; i < length; ++i) value = (value << 8) | static_cast<unsigned char>(data[i]);
  return value;
}

std::int32_t get_i32(const char* data) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(get_unsigned(data, 4)));
}

std::string encode_i64(std::int64_t value) {
  std::string out;
  put_i64(out, value);
  return out;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// The value of each setting Ferry wants unless the URL says otherwise.
// Keepalives notice a server that vanished without closing the connection.
constexpr std::array<const char*, 6> kDefaultKeywords{"application_name",    "keepalives",       "keepalives_idle",
                                                      "keepalives_interval", "keepalives_count", "connect_timeout"};

bool is_connection_loss(std::string_view sqlstate) {
  // 08: connection exception; 57P01-03: the server is shutting down or starting.
  return sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
}

ErrorCode code_for(std::string_view sqlstate) {
  if (sqlstate == "23505") return ErrorCode::conflict;   // unique_violation
  if (sqlstate == "23503") return ErrorCode::not_found;  // foreign_key_violation: the parent is missing
  if (sqlstate.starts_with("23") || sqlstate.starts_with("22")) return ErrorCode::bad_request;
  return ErrorCode::unavailable;
}

}  // namespace

// --- parameters

PgArray& PgArray::text(std::string_view value) {
  put_i32(elements_, static_cast<std::int32_t>(value.size()));
  elements_.append(value);
  ++count_;
  return *this;
}

PgArray& PgArray::integer(std::int64_t value) {
  put_i32(elements_, 8);
  put_i64(elements_, value);
  ++count_;
  return *this;
}

PgArray& PgArray::boolean(bool value) {
  put_i32(elements_, 1);
  elements_.push_back(value ? 1 : 0);
  ++count_;
  return *this;
}

PgArray& PgArray::null() {
  put_i32(elements_, -1);
  has_null_ = true;
  ++count_;
  return *this;
}

PgArray& PgArray::optional_text(const std::optional<std::string>& value) { return value ? text(*value) : null(); }

PgArray& PgArray::optional_integer(std::optional<std::int64_t> value) { return value ? integer(*value) : null(); }

Oid PgArray::array_type() const {
  switch (element_type_) {
    case pg_type::boolean: return pg_type::boolean_array;
    case pg_type::bytea: return pg_type::bytea_array;
    case pg_type::int8: return pg_type::int8_array;
    default: return pg_type::text_array;
  }
}

std::string PgArray::encode() const {
  std::string out;
  out.reserve(20 + elements_.size());
  if (count_ == 0) {
    put_i32(out, 0);  // no dimensions: the empty array
    put_i32(out, 0);
    put_u32(out, element_type_);
    return out;
  }
  put_i32(out, 1);
  put_i32(out, has_null_ ? 1 : 0);
  put_u32(out, element_type_);
  put_i32(out, static_cast<std::int32_t>(count_));
  put_i32(out, 1);  // lower bound
  out += elements_;
  return out;
}

PgParams& PgParams::add(Oid type, std::string value, bool null) {
  types_.push_back(type);
  values_.push_back(std::move(value));
  nulls_.push_back(null);
  return *this;
}

PgParams& PgParams::text(std::string_view value) { return add(pg_type::text, std::string(value)); }
PgParams& PgParams::bytes(std::string_view value) { return add(pg_type::bytea, std::string(value)); }
PgParams& PgParams::integer(std::int64_t value) { return add(pg_type::int8, encode_i64(value)); }
PgParams& PgParams::boolean(bool value) { return add(pg_type::boolean, std::string(1, value ? 1 : 0)); }

PgParams& PgParams::optional_text(const std::optional<std::string>& value) {
  return value ? text(*value) : add(pg_type::text, {}, true);
}

PgParams& PgParams::optional_bytes(const std::optional<std::string>& value) {
  return value ? bytes(*value) : add(pg_type::bytea, {}, true);
}

PgParams& PgParams::optional_integer(std::optional<std::int64_t> value) {
  return value ? integer(*value) : add(pg_type::int8, {}, true);
}

PgParams& PgParams::array(const PgArray& value) { return add(value.array_type(), value.encode()); }

PgParams& PgParams::text_array(std::span<const std::string> values) {
  PgArray array(pg_type::text);
  for (const auto& value : values) array.text(value);
  return this->array(array);
}

// --- results

std::int64_t PgResult::affected() const {
  const char* tuples = PQcmdTuples(result_.get());
  if (tuples == nullptr || *tuples == '\0') return 0;
  return std::stoll(tuples);
}

std::string PgResult::text(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::int64_t PgResult::integer(int row, int column) const {
  const char* data = PQgetvalue(result_.get(), row, column);
  const int length = PQgetlength(result_.get(), row, column);
  switch (PQftype(result_.get(), column)) {
    case pg_type::int8:
      if (length == 8) return static_cast<std::int64_t>(get_unsigned(data, 8));
      break;
    case pg_type::int4:
      if (length == 4) return get_i32(data);
      break;
    case pg_type::int2:
      if (length == 2) return static_cast<std::int16_t>(static_cast<std::uint16_t>(get_unsigned(data, 2)));
      break;
    default: break;
  }
  throw std::runtime_error("postgresql: column " + std::to_string(column) + " is not an integer");
}

bool PgResult::boolean(int row, int column) const {
  if (PQftype(result_.get(), column) != pg_type::boolean || PQgetlength(result_.get(), row, column) != 1) {
    throw std::runtime_error("postgresql: column " + std::to_string(column) + " is not a boolean");
  }
  return PQgetvalue(result_.get(), row, column)[0] != 0;
}

std::optional<std::string> PgResult::optional_text(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return text(row, column);
}

std::optional<std::int64_t> PgResult::optional_integer(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return integer(row, column);
}

std::vector<std::string> PgResult::text_array(int row, int column) const {
  std::vector<std::string> values;
  if (is_null(row, column)) return values;
  const char* data = PQgetvalue(result_.get(), row, column);
  const auto length = static_cast<std::size_t>(PQgetlength(result_.get(), row, column));
  const auto need = [&](std::size_t at, std::size_t bytes) {
    if (at + bytes > length) throw std::runtime_error("postgresql: truncated array");
  };
  need(0, 12);
  const std::int32_t dimensions = get_i32(data);
  if (dimensions == 0) return values;
  if (dimensions != 1) throw std::runtime_error("postgresql: expected a one-dimensional array");
  need(12, 8);
  const std::int32_t count = get_i32(data + 12);
  std::size_t at = 20;
  for (std::int32_t i = 0; i < count; ++i) {
    need(at, 4);
    const std::int32_t size = get_i32(data + at);
    at += 4;
    if (size < 0) {
      values.emplace_back();  // NULL elements read as empty strings
      continue;
    }
    need(at, static_cast<std::size_t>(size));
    values.emplace_back(data + at, static_cast<std::size_t>(size));
    at += static_cast<std::size_t>(size);
  }
  return values;
}

// --- connection

std::string redact_url(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const auto authority = scheme + 3;
  const auto at = url.find('@', authority);
  const auto slash = url.find('/', authority);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) return std::string(url);
  const auto colon = url.find(':', authority);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

Result<PGconn*> pg_connect_raw(const PgConnectOptions& options) {
  const std::string timeout = std::to_string(std::max<long long>(1, options.connect_timeout.count()));
  std::array<const char*, kDefaultKeywords.size() + 2> keywords{};
  std::array<const char*, kDefaultKeywords.size() + 2> values{};
  const std::array<const char*, kDefaultKeywords.size()> defaults{"ferry", "1", "10", "5", "3", timeout.c_str()};
  for (std::size_t i = 0; i < kDefaultKeywords.size(); ++i) {
    keywords[i] = kDefaultKeywords[i];
    values[i] = defaults[i];
  }
  // After the defaults: settings in the URL win over them.
  keywords[kDefaultKeywords.size()] = "dbname";
  values[kDefaultKeywords.size()] = options.url.c_str();
  PGconn* conn = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) {
    return make_error(ErrorCode::unavailable, "cannot connect to " + redact_url(options.url) + ": out of memory");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    return make_error(ErrorCode::unavailable, "cannot connect to " + redact_url(options.url) + ": " + message);
  }
  // Notices ("relation already exists, skipping") are not errors; libpq
  // would print them on stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return conn;
}

Result<std::unique_ptr<PgConnection>> PgConnection::connect(const PgConnectOptions& options) {
  auto conn = pg_connect_raw(options);
  if (!conn) return conn.error();
  return std::unique_ptr<PgConnection>(new PgConnection(*conn, options));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::lost() const { return lost_ || PQstatus(conn_) != CONNECTION_OK; }

bool PgConnection::broken() const {
  return lost_ || PQstatus(conn_) != CONNECTION_OK || PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

Status PgConnection::reset() {
  statements_.clear();
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    lost_ = true;
    return make_error(ErrorCode::unavailable,
                      "cannot connect to " + redact_url(options_.url) + ": " + trimmed(PQerrorMessage(conn_)));
  }
  lost_ = false;
  return {};
}

void PgConnection::begin_use() {
  statements_in_use_ = 0;
  lost_on_first_statement_ = false;
}

void PgConnection::count_statement() { ++statements_in_use_; }

Error PgConnection::failure(PGresult* result, std::string_view context) {
  std::string sqlstate;
  std::string message;
  if (result != nullptr) {
    if (const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE)) sqlstate = state;
    if (const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)) message = primary;
  }
  if (message.empty()) message = trimmed(PQerrorMessage(conn_));
  if (message.empty()) message = "unknown error";
  last_sqlstate_ = sqlstate;
  const bool first = statements_in_use_ == 1;
  if (PQstatus(conn_) == CONNECTION_BAD || is_connection_loss(sqlstate)) {
    lost_ = true;
    lost_on_first_statement_ = first;
    return make_error(ErrorCode::unavailable, "postgresql: connection lost: " + message);
  }
  std::string text = "postgresql: " + message;
  if (!context.empty()) text += std::string(" (") + std::string(context) + ")";
  return make_error(code_for(sqlstate), std::move(text));
}

Result<std::string> PgConnection::prepared(std::string_view sql, const PgParams& params) {
  if (auto found = statements_.find(sql); found != statements_.end()) return found->second;
  std::string name = "ferry_" + std::to_string(statements_.size() + 1);
  const std::string text(sql);
  PGresult* result = PQprepare(conn_, name.c_str(), text.c_str(), params.size(), params.types().data());
  PgResult owned(result);
  if (result == nullptr || PQresultStatus(result) != PGRES_COMMAND_OK) return failure(result, "prepare");
  statements_.emplace(text, name);
  return name;
}

Result<PgResult> PgConnection::query(std::string_view sql, const PgParams& params) {
  count_statement();
  auto name = prepared(sql, params);
  if (!name) return name.error();
  const int count = params.size();
  std::vector<const char*> values(static_cast<std::size_t>(count));
  std::vector<int> lengths(static_cast<std::size_t>(count));
  std::vector<int> formats(static_cast<std::size_t>(count), 1);
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = params.nulls()[i] ? nullptr : params.values()[i].data();
    lengths[i] = static_cast<int>(params.values()[i].size());
  }
  PGresult* result = PQexecPrepared(conn_, name->c_str(), count, values.data(), lengths.data(), formats.data(),
                                    /*resultFormat=*/1);
  const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    PgResult owned(result);
    return failure(result, "");
  }
  return PgResult(result);
}

Status PgConnection::exec(std::string_view sql, const PgParams& params) {
  auto result = query(sql, params);
  if (!result) return result.error();
  return {};
}

Status PgConnection::script(const std::string& sql) {
  count_statement();
  PGresult* result = PQexec(conn_, sql.c_str());
  PgResult owned(result);
  const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) return {};
  Error error = failure(result, "");
  if (!lost_ && PQtransactionStatus(conn_) == PQTRANS_INERROR) {
    PgResult rollback(PQexec(conn_, "ROLLBACK"));
  }
  return error;
}

// --- transaction

Result<PgTransaction> PgTransaction::begin(PgConnection& connection) {
  if (auto begun = connection.script("BEGIN"); !begun) return begun.error();
  return PgTransaction(&connection);
}

PgTransaction::~PgTransaction() {
  if (connection_ != nullptr && PQtransactionStatus(connection_->handle()) != PQTRANS_IDLE &&
      PQstatus(connection_->handle()) == CONNECTION_OK) {
    PgResult rollback(PQexec(connection_->handle(), "ROLLBACK"));
  }
}

Status PgTransaction::commit() {
  PgConnection* connection = std::exchange(connection_, nullptr);
  return connection->script("COMMIT");
}

// --- pool

PgPool::PgPool(PgConnectOptions options, int size, std::chrono::milliseconds acquire_timeout)
    : options_(std::move(options)), size_(std::max(1, size)), acquire_timeout_(acquire_timeout) {}

Result<PgPool::Lease> PgPool::acquire() {
  std::unique_lock lock(mutex_);
  if (!available_.wait_for(lock, acquire_timeout_, [&] { return !idle_.empty() || open_ < size_; })) {
    return make_error(ErrorCode::unavailable, "postgresql: all " + std::to_string(size_) +
                                                  " connections stayed busy for " +
                                                  std::to_string(acquire_timeout_.count()) + " ms");
  }
  const std::uint64_t generation = generation_;
  if (!idle_.empty()) {
    std::unique_ptr<PgConnection> connection = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    if (connection->broken() || connection->generation < generation) {
      if (auto reset = connection->reset(); !reset) {
        give_back(std::move(connection));
        return reset.error();
      }
      connection->generation = generation;
    }
    connection->begin_use();
    return Lease(this, std::move(connection));
  }
  ++open_;
  lock.unlock();
  auto connection = PgConnection::connect(options_);
  if (!connection) {
    lock.lock();
    --open_;
    lock.unlock();
    available_.notify_one();
    return connection.error();
  }
  (*connection)->generation = generation;
  (*connection)->begin_use();
  return Lease(this, std::move(*connection));
}

void PgPool::give_back(std::unique_ptr<PgConnection> connection) {
  {
    std::lock_guard lock(mutex_);
    // The first connection found lost since the last outage makes all idle
    // ones suspect: they are reconnected before their next use.
    if (connection->lost() && connection->generation >= generation_) ++generation_;
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

}  // namespace ferry
