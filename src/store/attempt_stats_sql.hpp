#pragma once

// The statistics' rollup table, attempt_stats, as both backends' SQL sees
// it: one row per (workspace, endpoint, minute) with the attempts' counts and
// their latency histogram, one column per bucket of kLatencyBoundsMs.
//
// Why a column per bucket rather than one encoded value (an array, a blob):
// the upsert then adds counts column by column inside the database
// (`latency_le_5 = latency_le_5 + excluded.latency_le_5`), the same SQL on
// SQLite and PostgreSQL, with no read-modify-write in the process, so nodes
// sharing one PostgreSQL can add to the same row at once and lose nothing;
// and sums over many rows are plain SUM()s. Zero counts, the usual case,
// take no payload byte on SQLite (integer 0 is stored in the record header).

#include <cstddef>
#include <string>

#include "core/attempt_stats.hpp"
#include "store/backend_support.hpp"

namespace ferry {

// The histogram's columns, in bucket order: latency_le_1, ..., latency_le_30000, latency_over.
inline std::string latency_column(std::size_t bucket) {
  return bucket < kLatencyBoundsMs.size() ? cat("latency_le_", std::to_string(kLatencyBoundsMs[bucket]))
                                          : std::string("latency_over");
}

// Every column of a row after its key, in the order of the upsert's
// parameters and of the sums read back.
inline constexpr std::size_t kStatsCountColumns = 4 + kLatencyBuckets;  // attempts, succeeded, failed, max, buckets

inline std::string stats_count_column(std::size_t index) {
  switch (index) {
    case 0: return "attempts";
    case 1: return "succeeded";
    case 2: return "failed";
    case 3: return "latency_max_us";
    default: return latency_column(index - 4);
  }
}

// INSERT of one row per key with `values` (the VALUES or SELECT part),
// adding to the row already there. `greatest` is the two-argument maximum:
// max on SQLite, GREATEST on PostgreSQL.
inline std::string stats_upsert_sql(std::string_view values, std::string_view greatest) {
  std::string columns = "workspace_id, endpoint_id, minute_ms";
  std::string updates;
  for (std::size_t i = 0; i < kStatsCountColumns; ++i) {
    const std::string column = stats_count_column(i);
    columns += cat(", ", column);
    if (i > 0) updates += ", ";
    if (column == "latency_max_us") {
      updates += cat(column, " = ", greatest, "(attempt_stats.", column, ", excluded.", column, ")");
    } else {
      updates += cat(column, " = attempt_stats.", column, " + excluded.", column);
    }
  }
  return cat("INSERT INTO attempt_stats (", columns, ") ", values,
             " ON CONFLICT (workspace_id, endpoint_id, minute_ms) DO UPDATE SET ", updates);
}

// The row's sums per bucket: $1/?1 workspace, 2 since, 3 until, 4 bucket
// length, and 5 the endpoint when `one_endpoint`. Meant to walk the
// endpoints of the workspace and, for each, the primary key's range of the
// window; `join` is the join keyword (SQLite's CROSS JOIN keeps endpoints the
// outer loop).
inline std::string stats_select_sql(char mark, std::string_view join, bool one_endpoint) {
  const auto p = [mark](int n) { return cat(std::string(1, mark), std::to_string(n)); };
  std::string sums;
  for (std::size_t i = 0; i < kStatsCountColumns; ++i) {
    const std::string column = stats_count_column(i);
    sums += cat(", ", column == "latency_max_us" ? "max" : "sum", "(s.", column, ")");
  }
  std::string sql = cat("SELECT ", p(2), " + ((s.minute_ms - ", p(2), ") / ", p(4), ") * ", p(4), " AS start", sums,
                        " FROM endpoints e ", join,
                        " attempt_stats s ON s.workspace_id = e.workspace_id AND s.endpoint_id = e.id"
                        " WHERE e.workspace_id = ",
                        p(1), " AND s.minute_ms >= ", p(2), " AND s.minute_ms < ", p(3));
  if (one_endpoint) sql += cat(" AND e.id = ", p(5));
  return cat(sql, " GROUP BY start ORDER BY start");
}

// A row read back by stats_select_sql: column 0 the start, then the sums.
template <class Row>
AttemptStatsRow read_stats_row(const Row& row) {
  AttemptStatsRow out;
  out.start_ms = row.integer(0);
  out.counts.attempts = row.integer(1);
  out.counts.succeeded = row.integer(2);
  out.counts.failed = row.integer(3);
  out.counts.latency.max_us = row.integer(4);
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) out.counts.latency.counts[i] = row.integer(static_cast<int>(5 + i));
  return out;
}

// The counts of a rollup entry, in stats_count_column order.
inline std::int64_t stats_count_value(const AttemptCounts& counts, std::size_t index) {
  switch (index) {
    case 0: return counts.attempts;
    case 1: return counts.succeeded;
    case 2: return counts.failed;
    case 3: return counts.latency.max_us;
    default: return counts.latency.counts[index - 4];
  }
}

// The failed attempts' condition, word for word the WHERE of the partial
// index attempts_endpoint_failed, so that listings of failures use it.
inline constexpr std::string_view kAttemptFailed =
    "(response_status IS NULL OR response_status < 200 OR response_status >= 300)";
inline constexpr std::string_view kAttemptSucceeded = "(response_status >= 200 AND response_status < 300)";

}  // namespace ferry
