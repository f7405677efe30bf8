#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace ferry {

// Upper bounds, in milliseconds, of the latency histogram's buckets: log
// spaced (1-2-5 per decade), so every bucket but the first spans at most a
// factor of 2.5 and a few columns cover 1 ms to 30 s. A latency L falls in
// the first bucket whose bound B has L <= B; above the last bound it falls in
// the overflow bucket. The stores keep one column per bucket, so changing the
// bounds takes a schema migration.
inline constexpr std::array<std::int64_t, 14> kLatencyBoundsMs{1,   2,   5,    10,   20,   50,    100,
                                                               200, 500, 1000, 2000, 5000, 10000, 30000};
inline constexpr std::size_t kLatencyBuckets = kLatencyBoundsMs.size() + 1;  // the last one is the overflow

// The bucket of a latency in microseconds (negative counts as 0).
std::size_t latency_bucket_of(std::int64_t latency_us);

// Counts of latencies per bucket, and the largest latency seen (which closes
// the overflow bucket and tightens the estimate of the bucket it falls in).
struct LatencyHistogram {
  std::array<std::int64_t, kLatencyBuckets> counts{};
  std::int64_t max_us = 0;

  void add(std::int64_t latency_us);
  void merge(const LatencyHistogram& other);
  std::int64_t total() const;

  // An estimate of the p-quantile (0 < p <= 1) in milliseconds, or nullopt
  // when the histogram is empty. The quantile is the nearest-rank one: the
  // r-th smallest latency, r = ceil(p * total). The estimate interpolates
  // linearly inside the bucket that holds the r-th latency, between the
  // bucket's lower bound and its upper bound (or max_us, when that is
  // smaller: for the overflow bucket, always). Error bound: the estimate and
  // the true value lie in the same bucket, so they differ by at most the
  // bucket's width: at most 1 ms in the first bucket, at most two thirds of
  // the bucket's upper bound in the others (3/5 for the 1-2-5 steps, 2/3 for
  // 10 s..30 s), and at most max - 30 s in the overflow bucket.
  std::optional<double> percentile_ms(double p) const;

  bool operator==(const LatencyHistogram&) const = default;
};

}  // namespace ferry
