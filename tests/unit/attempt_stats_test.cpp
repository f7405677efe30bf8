#include "core/attempt_stats.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/latency_histogram.hpp"

namespace ferry {
namespace {

constexpr UnixMillis kHourMs = 3'600'000;
constexpr UnixMillis kDayMs = 86'400'000;
// 2023-11-14T22:13:20Z: not on a minute, an hour or a day.
constexpr UnixMillis kNow = 1'700'000'000'000;

TEST(LatencyHistogram, BucketsAreUpperInclusive) {
  EXPECT_EQ(latency_bucket_of(0), 0U);
  EXPECT_EQ(latency_bucket_of(1000), 0U);  // 1 ms
  EXPECT_EQ(latency_bucket_of(1001), 1U);
  EXPECT_EQ(latency_bucket_of(2000), 1U);
  EXPECT_EQ(latency_bucket_of(2001), 2U);
  EXPECT_EQ(latency_bucket_of(30'000'000), kLatencyBoundsMs.size() - 1);  // 30 s
  EXPECT_EQ(latency_bucket_of(30'000'001), kLatencyBoundsMs.size());      // overflow
  EXPECT_EQ(latency_bucket_of(-5), 0U);
}

TEST(LatencyHistogram, AddMergeAndTotal) {
  LatencyHistogram a;
  a.add(1500);
  a.add(40'000);
  LatencyHistogram b;
  b.add(40'000);
  b.add(90'000'000);
  a.merge(b);
  EXPECT_EQ(a.total(), 4);
  EXPECT_EQ(a.counts[1], 1);  // 1.5 ms in (1, 2]
  EXPECT_EQ(a.counts[5], 2);  // 40 ms in (20, 50]
  EXPECT_EQ(a.counts.back(), 1);
  EXPECT_EQ(a.max_us, 90'000'000);
}

TEST(LatencyHistogram, EmptyHasNoPercentiles) {
  LatencyHistogram empty;
  EXPECT_FALSE(empty.percentile_ms(0.5));
  LatencyHistogram one;
  one.add(3000);
  EXPECT_FALSE(one.percentile_ms(0.0));
}

TEST(LatencyHistogram, InterpolatesInsideTheBucket) {
  LatencyHistogram h;
  // Ten latencies in (10, 20] ms, the largest 20 ms: rank r of 10 sits at
  // 10 + 10 * r / 10.
  for (int i = 0; i < 10; ++i) h.add(11'000 + i * 1000);
  EXPECT_DOUBLE_EQ(*h.percentile_ms(0.5), 15.0);
  EXPECT_DOUBLE_EQ(*h.percentile_ms(0.9), 19.0);
  EXPECT_DOUBLE_EQ(*h.percentile_ms(1.0), 20.0);
}

TEST(LatencyHistogram, MaxClosesTheOverflowAndTightensItsBucket) {
  LatencyHistogram h;
  h.add(45'000'000);  // 45 s, overflow
  EXPECT_DOUBLE_EQ(*h.percentile_ms(0.99), 45'000.0);
  LatencyHistogram small;
  small.add(120'000);  // 120 ms in (100, 200]: never estimated above 120
  EXPECT_DOUBLE_EQ(*small.percentile_ms(0.99), 120.0);
}

// The promise of the header: the estimate lies in the bucket of the true
// nearest-rank quantile, never above the largest latency.
TEST(LatencyHistogram, EstimatesStayInTheTrueValuesBucket) {
  std::mt19937_64 random(42);
  std::lognormal_distribution<double> latency_ms(4.0, 1.5);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::int64_t> samples;
    LatencyHistogram h;
    const int n = 1 + round * 37;
    for (int i = 0; i < n; ++i) {
      const auto us = static_cast<std::int64_t>(latency_ms(random) * 1000.0);
      samples.push_back(us);
      h.add(us);
    }
    std::sort(samples.begin(), samples.end());
    for (double p : {0.5, 0.9, 0.99}) {
      const auto rank = static_cast<std::size_t>(std::ceil(p * n));
      const std::int64_t truth = samples[rank - 1];
      const std::size_t bucket = latency_bucket_of(truth);
      const double estimate = *h.percentile_ms(p);
      const double lower = bucket == 0 ? 0.0 : static_cast<double>(kLatencyBoundsMs[bucket - 1]);
      const double upper = bucket < kLatencyBoundsMs.size() ? static_cast<double>(kLatencyBoundsMs[bucket])
                                                            : static_cast<double>(samples.back()) / 1000.0;
      EXPECT_GE(estimate, lower) << "p" << p << " n=" << n;
      EXPECT_LE(estimate, upper) << "p" << p << " n=" << n;
      EXPECT_LE(estimate, static_cast<double>(samples.back()) / 1000.0);
    }
  }
}

Attempt attempt_of(std::string endpoint, UnixMillis at, std::optional<int> status, std::int64_t latency_us) {
  Attempt attempt;
  attempt.workspace_id = "ws";
  attempt.endpoint_id = std::move(endpoint);
  attempt.started_at_ms = at;
  attempt.response_status = status;
  attempt.latency_us = latency_us;
  return attempt;
}

TEST(AttemptStats, SuccessIsA2xx) {
  EXPECT_TRUE(attempt_succeeded(attempt_of("ep", 0, 200, 1)));
  EXPECT_TRUE(attempt_succeeded(attempt_of("ep", 0, 299, 1)));
  EXPECT_FALSE(attempt_succeeded(attempt_of("ep", 0, 300, 1)));
  EXPECT_FALSE(attempt_succeeded(attempt_of("ep", 0, 199, 1)));
  EXPECT_FALSE(attempt_succeeded(attempt_of("ep", 0, std::nullopt, 1)));
}

TEST(AttemptStats, RollupSumsPerEndpointAndMinute) {
  AttemptRollup rollup;
  const UnixMillis minute = minute_of(kNow);
  add_to_rollup(rollup, attempt_of("ep_a", minute, 200, 3000));
  add_to_rollup(rollup, attempt_of("ep_a", minute + 59'999, 500, 7000));
  add_to_rollup(rollup, attempt_of("ep_a", minute + 60'000, std::nullopt, 9000));
  add_to_rollup(rollup, attempt_of("ep_b", minute + 1, 204, 1000));
  ASSERT_EQ(rollup.size(), 3U);
  const AttemptCounts& first = rollup.at({"ws", "ep_a", minute});
  EXPECT_EQ(first.attempts, 2);
  EXPECT_EQ(first.succeeded, 1);
  EXPECT_EQ(first.failed, 1);
  EXPECT_EQ(first.latency.total(), 2);
  EXPECT_EQ(first.latency.max_us, 7000);
  EXPECT_EQ(rollup.at({"ws", "ep_a", minute + 60'000}).failed, 1);
  EXPECT_EQ(rollup.at({"ws", "ep_b", minute}).succeeded, 1);
  EXPECT_EQ(*first.success_rate(), 0.5);
  EXPECT_FALSE(AttemptCounts().success_rate());
}

TEST(AttemptStats, MinutesFloorAlsoBeforeTheEpoch) {
  EXPECT_EQ(minute_of(60'000), 60'000);
  EXPECT_EQ(minute_of(119'999), 60'000);
  EXPECT_EQ(minute_of(-1), -60'000);
}

TEST(AttemptStats, ParsesTheAllowedBuckets) {
  EXPECT_EQ(parse_stats_bucket("1m"), 60'000);
  EXPECT_EQ(parse_stats_bucket("15m"), 900'000);
  EXPECT_EQ(parse_stats_bucket("1d"), kDayMs);
  EXPECT_EQ(parse_stats_bucket("1h"), kHourMs);
  EXPECT_FALSE(parse_stats_bucket("3600"));
  EXPECT_FALSE(parse_stats_bucket("2m"));
  EXPECT_FALSE(parse_stats_bucket("61"));
  EXPECT_FALSE(parse_stats_bucket(""));
  EXPECT_FALSE(parse_stats_bucket("1h "));
}

TEST(AttemptStats, DefaultWindowIsTheLastDayInFiveMinutes) {
  auto window = stats_window(std::nullopt, std::nullopt, std::nullopt, kNow);
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(window->bucket_ms, 300'000);
  EXPECT_EQ(window->since_ms % 300'000, 0);
  EXPECT_EQ(window->until_ms % 300'000, 0);
  EXPECT_LE(window->since_ms, kNow - kDayMs);
  EXPECT_GE(window->until_ms, kNow);
  EXPECT_LE(window->bucket_count(), kMaxStatsBuckets);
  EXPECT_EQ(window->bucket_count(), 289);  // widened by the partial buckets at both ends
}

TEST(AttemptStats, ChoosesTheSmallestBucketWithinTheLimit) {
  EXPECT_EQ(stats_window(kNow - kHourMs, kNow, std::nullopt, kNow)->bucket_ms, 60'000);
  EXPECT_EQ(stats_window(kNow - 7 * kDayMs, kNow, std::nullopt, kNow)->bucket_ms, kHourMs);
  EXPECT_EQ(stats_window(kNow - 30 * kDayMs, kNow, std::nullopt, kNow)->bucket_ms, 6 * kHourMs);
  EXPECT_EQ(stats_window(kNow - 90 * kDayMs, kNow, std::nullopt, kNow)->bucket_ms, kDayMs);
}

TEST(AttemptStats, RefusesBadWindows) {
  EXPECT_EQ(stats_window(kNow, kNow, std::nullopt, kNow).error().code, ErrorCode::bad_request);
  EXPECT_EQ(stats_window(kNow, kNow - 1, std::nullopt, kNow).error().code, ErrorCode::bad_request);
  EXPECT_EQ(stats_window(kNow - 90 * kDayMs - 1, kNow, std::nullopt, kNow).error().code, ErrorCode::bad_request);
  EXPECT_EQ(stats_window(kNow - kDayMs, kNow, 60'000, kNow).error().code, ErrorCode::bad_request);  // 1441 buckets
  auto explicit_bucket = stats_window(kNow - 2 * kHourMs, kNow, 60'000, kNow);
  ASSERT_TRUE(explicit_bucket.ok());
  EXPECT_EQ(explicit_bucket->bucket_count(), 121);
}

TEST(AttemptStats, DaysStartAtUtcMidnight) {
  auto window = stats_window(kNow - 10 * kDayMs, kNow, kDayMs, kNow);
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(window->since_ms % kDayMs, 0);
  EXPECT_EQ(bucket_start(*window, kNow), kNow - kNow % kDayMs);
}

TEST(AttemptStats, SeriesFillsEveryBucketAndSumsTotals) {
  const StatsWindow window{0, 4 * kHourMs, kHourMs};
  AttemptCounts a;
  a.add(attempt_of("ep", 0, 200, 5000));
  AttemptCounts b;
  b.add(attempt_of("ep", 0, 500, 50'000));
  const std::vector<AttemptStatsRow> rows{{kHourMs, a}, {kHourMs, b}, {3 * kHourMs, a}, {5 * kHourMs, a}};
  const std::vector<MessageCountRow> messages{{0, 7}, {3 * kHourMs, 2}, {-kHourMs, 100}};
  StatsSeries series = build_stats_series(window, rows, std::span<const MessageCountRow>(messages));
  ASSERT_EQ(series.buckets.size(), 4U);
  EXPECT_EQ(series.buckets[0].start_ms, 0);
  EXPECT_EQ(series.buckets[0].messages, 7);
  EXPECT_EQ(series.buckets[0].counts.attempts, 0);
  EXPECT_EQ(series.buckets[1].counts.attempts, 2);
  EXPECT_EQ(series.buckets[1].counts.succeeded, 1);
  EXPECT_EQ(series.buckets[1].counts.latency.max_us, 50'000);
  EXPECT_EQ(series.buckets[1].messages, 0);
  EXPECT_EQ(series.buckets[3].counts.attempts, 1);
  EXPECT_EQ(series.totals.counts.attempts, 3);  // the row after the window is left out
  EXPECT_EQ(series.totals.messages, 9);         // and the one before it
  EXPECT_EQ(series.totals.counts.latency.total(), 3);

  StatsSeries without_messages = build_stats_series(window, rows, std::nullopt);
  EXPECT_FALSE(without_messages.buckets[0].messages);
  EXPECT_FALSE(without_messages.totals.messages);
}

}  // namespace
}  // namespace ferry
