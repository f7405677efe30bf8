#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/attempt.hpp"
#include "core/clock.hpp"
#include "core/latency_histogram.hpp"
#include "core/result.hpp"

namespace ferry {

// Delivery statistics: attempts counted by outcome, with their latencies.
// They describe attempts (each HTTP try), not the final states of
// deliveries: a delivery that failed twice and then succeeded counts two
// failed attempts and one succeeded.

inline constexpr UnixMillis kMinuteMs = 60'000;

// The start of the minute a time falls in (also before the epoch).
UnixMillis minute_of(UnixMillis ms);

// Success is any 2xx answer; anything else (another status, no answer) failed.
bool attempt_succeeded(const Attempt& attempt);

// Attempts counted by outcome, with a histogram of their latencies (every
// attempt's, failures included: a timeout's latency is the time it waited).
struct AttemptCounts {
  std::int64_t attempts = 0;
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  LatencyHistogram latency;

  void add(const Attempt& attempt);
  void merge(const AttemptCounts& other);
  // succeeded / attempts, or nullopt without attempts.
  std::optional<double> success_rate() const;

  bool operator==(const AttemptCounts&) const = default;
};

// The rollup's key: the attempts of one endpoint within one minute.
struct AttemptMinuteKey {
  std::string workspace_id;
  std::string endpoint_id;
  UnixMillis minute_ms = 0;

  auto operator<=>(const AttemptMinuteKey&) const = default;
};

// A batch of attempts summed per key, in key order (which is also the order
// in which stores upsert them, so concurrent writers lock rows alike).
using AttemptRollup = std::map<AttemptMinuteKey, AttemptCounts>;

void add_to_rollup(AttemptRollup& rollup, const Attempt& attempt);

// --- series over time

// The bucket sizes a series may use, in seconds: 1m, 5m, 15m, 1h, 6h, 1d.
inline constexpr std::int64_t kStatsBucketSeconds[] = {60, 300, 900, 3600, 21600, 86400};
inline constexpr std::int64_t kMaxStatsBuckets = 300;
inline constexpr UnixMillis kMaxStatsWindowMs = 90LL * 86'400'000;
inline constexpr UnixMillis kDefaultStatsWindowMs = 86'400'000;

// "1m", "5m", "15m", "1h", "6h", "1d" in milliseconds; nullopt for anything else.
std::optional<UnixMillis> parse_stats_bucket(std::string_view text);

// The time window of a series: [since_ms, until_ms), both multiples of
// bucket_ms (buckets start at whole minutes, hours, UTC days).
struct StatsWindow {
  UnixMillis since_ms = 0;
  UnixMillis until_ms = 0;
  UnixMillis bucket_ms = 0;

  std::int64_t bucket_count() const { return (until_ms - since_ms) / bucket_ms; }
};

// Chooses the window of a request: until defaults to now and since to 24 h
// before until; both widen outwards to whole buckets. Without a bucket, the
// smallest allowed one that makes at most kMaxStatsBuckets. bad_request when
// until <= since, the window exceeds 90 days, or the chosen bucket makes
// more than kMaxStatsBuckets.
Result<StatsWindow> stats_window(std::optional<UnixMillis> since_ms, std::optional<UnixMillis> until_ms,
                                 std::optional<UnixMillis> bucket_ms, UnixMillis now_ms);

// The start of the bucket of `window` that a time falls in.
UnixMillis bucket_start(const StatsWindow& window, UnixMillis ms);

// Partial sums a store hands back: attempts (or messages) whose minute
// falls in the bucket starting at start_ms. Several rows may share a start.
struct AttemptStatsRow {
  UnixMillis start_ms = 0;
  AttemptCounts counts;
};
struct MessageCountRow {
  UnixMillis start_ms = 0;
  std::int64_t messages = 0;
};

struct StatsBucket {
  UnixMillis start_ms = 0;
  std::optional<std::int64_t> messages;  // absent when not counted (an endpoint's statistics)
  AttemptCounts counts;
};

// Every bucket of the window, oldest first (empty ones included), and the
// totals over the window (start_ms = the window's since_ms).
struct StatsSeries {
  StatsWindow window;
  std::vector<StatsBucket> buckets;
  StatsBucket totals;
};

// Merges the rows into the window's buckets (rows outside the window are
// left out). Without message counts, `messages` stays absent.
StatsSeries build_stats_series(const StatsWindow& window, std::span<const AttemptStatsRow> attempts,
                               std::optional<std::span<const MessageCountRow>> messages);

}  // namespace ferry
