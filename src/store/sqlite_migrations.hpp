#pragma once

#include <span>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace ferry {

class SqliteConnection;

// One step of the schema's history. Steps are append-only: a released step is
// never edited, a change of schema is a new step with the next version.
struct SqliteMigration {
  int version;
  std::string_view sql;  // one or more ';'-separated statements
};

// Every step, in version order.
std::span<const SqliteMigration> sqlite_migrations();

// Brings the database up to the newest version: each step not yet recorded in
// schema_migrations runs in its own transaction together with its record, so
// a crash never leaves a step half-applied. An up-to-date database is left
// untouched. A database newer than this build is refused (unavailable), as an
// older binary cannot know what the newer schema promises.
Status apply_sqlite_migrations(SqliteConnection& connection, UnixMillis now_ms);

}  // namespace ferry
