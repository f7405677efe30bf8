#pragma once

#include <span>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace ferry {

class PgConnection;

// One step of the PostgreSQL schema; versions count up from 1.
struct PgMigration {
  int version;
  std::string_view sql;
};

std::span<const PgMigration> postgres_migrations();

// Brings the schema up to date. Several processes may start at once: the
// steps run under a session advisory lock, so each is applied exactly once,
// and each in its own transaction together with its schema_migrations row.
// Refuses a database whose schema is newer than this build knows.
Status apply_postgres_migrations(PgConnection& connection, UnixMillis now_ms);

}  // namespace ferry
