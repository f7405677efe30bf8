#include "core/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace ferry {

std::size_t latency_bucket_of(std::int64_t latency_us) {
  for (std::size_t i = 0; i < kLatencyBoundsMs.size(); ++i) {
    if (latency_us <= kLatencyBoundsMs[i] * 1000) return i;
  }
  return kLatencyBoundsMs.size();
}

void LatencyHistogram::add(std::int64_t latency_us) {
  latency_us = std::max<std::int64_t>(latency_us, 0);
  counts[latency_bucket_of(latency_us)] += 1;
  max_us = std::max(max_us, latency_us);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) counts[i] += other.counts[i];
  max_us = std::max(max_us, other.max_us);
}

std::int64_t LatencyHistogram::total() const {
  std::int64_t sum = 0;
  for (auto count : counts) sum += count;
  return sum;
}

std::optional<double> LatencyHistogram::percentile_ms(double p) const {
  const std::int64_t n = total();
  if (n == 0 || !(p > 0.0)) return std::nullopt;
  p = std::min(p, 1.0);
  const auto rank = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(p * static_cast<double>(n))));
  const double max_ms = static_cast<double>(max_us) / 1000.0;
  std::int64_t below = 0;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
    if (counts[i] == 0 || below + counts[i] < rank) {
      below += counts[i];
      continue;
    }
    const double lower = i == 0 ? 0.0 : static_cast<double>(kLatencyBoundsMs[i - 1]);
    double upper = i < kLatencyBoundsMs.size() ? static_cast<double>(kLatencyBoundsMs[i]) : max_ms;
    // Every latency is at most max_us, so the bucket effectively ends there.
    upper = std::max(lower, std::min(upper, max_ms));
    const double fraction = static_cast<double>(rank - below) / static_cast<double>(counts[i]);
    return lower + (upper - lower) * fraction;
  }
  return max_ms;  // unreachable: the ranks add up to n
}

}  // namespace ferry
