#include "core/attempt_stats.hpp"

#include <utility>

namespace ferry {

namespace {

UnixMillis floor_to(UnixMillis ms, UnixMillis step) {
  UnixMillis q = ms / step;
  if (ms % step != 0 && ms < 0) --q;
  return q * step;
}

UnixMillis ceil_to(UnixMillis ms, UnixMillis step) {
  const UnixMillis floor = floor_to(ms, step);
  return floor == ms ? ms : floor + step;
}

StatsWindow widened(UnixMillis since_ms, UnixMillis until_ms, UnixMillis bucket_ms) {
  return {floor_to(since_ms, bucket_ms), ceil_to(until_ms, bucket_ms), bucket_ms};
}

}  // namespace

UnixMillis minute_of(UnixMillis ms) { return floor_to(ms, kMinuteMs); }

bool attempt_succeeded(const Attempt& attempt) {
  return attempt.response_status && *attempt.response_status >= 200 && *attempt.response_status < 300;
}

void AttemptCounts::add(const Attempt& attempt) {
  attempts += 1;
  (attempt_succeeded(attempt) ? succeeded : failed) += 1;
  latency.add(attempt.latency_us);
}

void AttemptCounts::merge(const AttemptCounts& other) {
  attempts += other.attempts;
  succeeded += other.succeeded;
  failed += other.failed;
  latency.merge(other.latency);
}

std::optional<double> AttemptCounts::success_rate() const {
  if (attempts <= 0) return std::nullopt;
  return static_cast<double>(succeeded) / static_cast<double>(attempts);
}

void add_to_rollup(AttemptRollup& rollup, const Attempt& attempt) {
  rollup[AttemptMinuteKey{attempt.workspace_id, attempt.endpoint_id, minute_of(attempt.started_at_ms)}].add(attempt);
}

std::optional<UnixMillis> parse_stats_bucket(std::string_view text) {
  static constexpr std::pair<std::string_view, std::int64_t> kNames[] = {{"1m", 60},   {"5m", 300},   {"15m", 900},
                                                                         {"1h", 3600}, {"6h", 21600}, {"1d", 86400}};
  for (const auto& [name, seconds] : kNames) {
    if (text == name) return seconds * 1000;
  }
  return std::nullopt;
}

Result<StatsWindow> stats_window(std::optional<UnixMillis> since_ms, std::optional<UnixMillis> until_ms,
                                 std::optional<UnixMillis> bucket_ms, UnixMillis now_ms) {
  const UnixMillis until = until_ms.value_or(now_ms);
  const UnixMillis since = since_ms.value_or(until - kDefaultStatsWindowMs);
  if (until <= since) return make_error(ErrorCode::bad_request, "until must be later than since");
  if (until - since > kMaxStatsWindowMs) {
    return make_error(ErrorCode::bad_request, "the window from since to until may span at most 90 days");
  }
  if (bucket_ms) {
    StatsWindow window = widened(since, until, *bucket_ms);
    if (window.bucket_count() > kMaxStatsBuckets) {
      return make_error(ErrorCode::bad_request, "bucket makes " + std::to_string(window.bucket_count()) +
                                                    " buckets of the window; at most " +
                                                    std::to_string(kMaxStatsBuckets) + ": choose a larger one");
    }
    return window;
  }
  for (std::int64_t seconds : kStatsBucketSeconds) {
    StatsWindow window = widened(since, until, seconds * 1000);
    if (window.bucket_count() <= kMaxStatsBuckets) return window;
  }
  // 90 days in whole days is at most 91 buckets: never reached.
  return make_error(ErrorCode::bad_request, "the window is too long");
}

UnixMillis bucket_start(const StatsWindow& window, UnixMillis ms) {
  return window.since_ms + floor_to(ms - window.since_ms, window.bucket_ms);
}

StatsSeries build_stats_series(const StatsWindow& window, std::span<const AttemptStatsRow> attempts,
                               std::optional<std::span<const MessageCountRow>> messages) {
  StatsSeries series;
  series.window = window;
  const auto count = static_cast<std::size_t>(window.bucket_count());
  series.buckets.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    series.buckets[i].start_ms = window.since_ms + static_cast<UnixMillis>(i) * window.bucket_ms;
    if (messages) series.buckets[i].messages = 0;
  }
  series.totals.start_ms = window.since_ms;
  if (messages) series.totals.messages = 0;
  const auto index_of = [&](UnixMillis ms) -> std::optional<std::size_t> {
    if (ms < window.since_ms || ms >= window.until_ms) return std::nullopt;
    return static_cast<std::size_t>((ms - window.since_ms) / window.bucket_ms);
  };
  for (const auto& row : attempts) {
    if (auto i = index_of(row.start_ms)) {
      series.buckets[*i].counts.merge(row.counts);
      series.totals.counts.merge(row.counts);
    }
  }
  if (messages) {
    for (const auto& row : *messages) {
      if (auto i = index_of(row.start_ms)) {
        *series.buckets[*i].messages += row.messages;
        *series.totals.messages += row.messages;
      }
    }
  }
  return series;
}

}  // namespace ferry
