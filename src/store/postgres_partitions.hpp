#pragma once

// Daily range partitions of messages (by created_at) and attempts (by
// started_at). A partition holds one UTC day, [00:00, 24:00) in epoch
// milliseconds, and is named after it: messages_p20261123.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace ferry {

class PgConnection;

inline constexpr UnixMillis kPgDayMs = 86'400'000;
inline constexpr std::string_view kPgMessagesTable = "messages";
inline constexpr std::string_view kPgAttemptsTable = "attempts";

// Days since 1970-01-01 (UTC) of an epoch time, rounding down.
std::int64_t pg_day_of(UnixMillis ms);
// "messages_p20261123"; days outside the years 1000..9999 get "messages_d<day>".
std::string pg_partition_name(std::string_view table, std::int64_t day);
// The day a partition of `table` named by pg_partition_name holds, if the name is one.
std::optional<std::int64_t> pg_partition_day(std::string_view table, std::string_view name);

// The partitions this process knows to exist, so that writes ask the
// database only about days they have not seen yet. Safe for concurrent use.
//
// Creating and dropping run under one transaction-level advisory lock,
// so processes sharing the database never race on the same partition.
class PgPartitions {
 public:
  // Creates the partitions of `table` for `days` that are not known to exist.
  Status ensure(PgConnection& connection, std::string_view table, const std::set<std::int64_t>& days);
  // Forgets what is known about `table` (another process dropped partitions).
  void forget(std::string_view table);
  // Drops the partitions of `table` whose whole day lies before `cutoff_ms`;
  // returns how many were dropped.
  Result<std::int64_t> drop_before(PgConnection& connection, std::string_view table, UnixMillis cutoff_ms);

 private:
  std::mutex mutex_;
  std::map<std::string, std::set<std::int64_t>, std::less<>> known_;  // guarded by mutex_
};

}  // namespace ferry
