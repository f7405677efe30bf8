#pragma once

// The statistics' rollup on PostgreSQL (see store/attempt_stats_sql.hpp):
// written by record_attempts and import_messages, read by attempt_stats.

#include "core/attempt_stats.hpp"
#include "core/result.hpp"

namespace ferry {

class PgConnection;

// Adds the rollup to attempt_stats inside the caller's transaction: one
// statement for the whole batch, its rows in key order, so that nodes adding
// to the same rows at once lock them in the same order.
Status upsert_pg_stats(PgConnection& db, const AttemptRollup& rollup);

}  // namespace ferry
