#include "store/postgres_stats.hpp"

#include <string>

#include "store/attempt_stats_sql.hpp"
#include "store/postgres_connection.hpp"

namespace ferry {

namespace {

// unnest($1::text[], $2::text[], $3::int8[], ...): a row per key, in the arrays' order.
std::string unnest_values() {
  std::string values = "SELECT * FROM unnest($1::text[], $2::text[]";
  for (std::size_t i = 3; i <= 3 + kStatsCountColumns; ++i) values += cat(", $", std::to_string(i), "::int8[]");
  return values + ")";
}

const std::string kUpsertStats = stats_upsert_sql(unnest_values(), "GREATEST");

}  // namespace

Status upsert_pg_stats(PgConnection& db, const AttemptRollup& rollup) {
  if (rollup.empty()) return {};
  PgArray workspaces(pg_type::text), endpoints(pg_type::text), minutes(pg_type::int8);
  std::vector<PgArray> counts(kStatsCountColumns, PgArray(pg_type::int8));
  for (const auto& [key, sums] : rollup) {
    workspaces.text(key.workspace_id);
    endpoints.text(key.endpoint_id);
    minutes.integer(key.minute_ms);
    for (std::size_t i = 0; i < kStatsCountColumns; ++i) counts[i].integer(stats_count_value(sums, i));
  }
  PgParams params;
  params.array(workspaces).array(endpoints).array(minutes);
  for (const auto& column : counts) params.array(column);
  return db.exec(kUpsertStats, params);
}

}  // namespace ferry
