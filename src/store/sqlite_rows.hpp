#pragma once

// Each domain type's table on SQLite: the column lists, and SQLite's
// statements in the vocabulary of row_mapping.hpp, which maps every field.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/row_mapping.hpp"
#include "store/sqlite_connection.hpp"

namespace ferry {

// SELECT lists, qualified by the alias each table gets in every query
// (w, c, k, t, e, m, d, a), so that joins can use them unchanged.
inline constexpr std::string_view kWorkspaceColumns =
    "w.id, w.name, w.catalog, w.profile, w.validate_payloads, w.test_mode, w.created_at, w.updated_at";
inline constexpr std::string_view kCatalogColumns = "c.name, c.document, c.created_at, c.updated_at";
inline constexpr std::string_view kApiKeyColumns =
    "k.workspace_id, k.id, k.name, k.token_prefix, k.token_hash, k.created_at";
inline constexpr std::string_view kEventTypeColumns =
    "t.catalog, t.name, t.group_name, t.description, t.schema_json, t.examples_json, t.flags, t.archived, "
    "t.created_at, "
    "t.updated_at";
inline constexpr std::string_view kEndpointColumns =
    "e.workspace_id, e.id, e.url, e.description, e.secrets, e.filter_types, e.profile, e.headers, e.rate_limit, "
    "e.enabled, e.disabled_reason, e.created_at, e.updated_at";
inline constexpr std::string_view kMessageColumns =
    "m.workspace_id, m.id, m.type, m.payload, m.created_at, m.idempotency_key, m.test, m.flags";
inline constexpr std::string_view kDeliveryColumns =
    "d.workspace_id, d.id, d.message_id, d.endpoint_id, d.state, d.attempt_count, d.next_attempt_at, d.created_at, "
    "d.updated_at, d.lease_token";
inline constexpr std::string_view kAttemptColumns =
    "a.workspace_id, a.id, a.delivery_id, a.message_id, a.endpoint_id, a.attempt_number, a.started_at, "
    "a.latency_us, a.url, a.request_headers, a.response_status, a.response_headers, a.response_body, a.error, "
    "a.error_detail";

static_assert(column_count(kMessageColumns) == kMessageColumnCount &&
              column_count(kDeliveryColumns) == kDeliveryColumnCount);

// The current row of a statement. SQLite has neither booleans nor arrays:
// booleans are stored as 0/1, lists as JSON text.
class SqliteRow {
 public:
  explicit SqliteRow(const SqliteStatement& stmt) : stmt_(stmt) {}

  std::string text(int column) const { return stmt_.column_text(column); }
  std::string bytes(int column) const { return stmt_.column_blob(column); }
  std::int64_t integer(int column) const { return stmt_.column_int(column); }
  bool boolean(int column) const { return stmt_.column_int(column) != 0; }
  std::optional<std::string> optional_text(int column) const { return stmt_.column_optional_text(column); }
  std::optional<std::int64_t> optional_integer(int column) const { return stmt_.column_optional_int(column); }
  std::vector<std::string> text_array(int column) const { return decode_strings(stmt_.column_text(column)); }

 private:
  const SqliteStatement& stmt_;
};

// Binds a statement's parameters ?1..?N in the order they are added, stored
// as SqliteRow reads them back.
class SqliteParams {
 public:
  explicit SqliteParams(SqliteStatement& stmt) : stmt_(stmt) {}

  SqliteParams& text(std::string_view value);
  SqliteParams& bytes(std::string_view value);
  SqliteParams& integer(std::int64_t value);
  SqliteParams& boolean(bool value);
  SqliteParams& optional_text(const std::optional<std::string>& value);
  SqliteParams& optional_integer(std::optional<std::int64_t> value);
  SqliteParams& text_array(std::span<const std::string> values);

 private:
  SqliteStatement& stmt_;
  int next_ = 1;
};

}  // namespace ferry
