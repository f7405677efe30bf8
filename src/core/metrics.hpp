#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace ferry {

// Process-wide counters, rendered in the Prometheus text format. Lock-free;
// safe for concurrent use.
class Metrics {
 public:
  std::atomic<std::uint64_t> messages_published{0};
  std::atomic<std::uint64_t> messages_duplicate{0};
  std::atomic<std::uint64_t> deliveries_created{0};
  std::atomic<std::uint64_t> deliveries_succeeded{0};
  std::atomic<std::uint64_t> deliveries_failed{0};
  std::atomic<std::uint64_t> attempts_success{0};
  std::atomic<std::uint64_t> attempts_http_error{0};
  std::atomic<std::uint64_t> attempts_transport_error{0};
  std::atomic<std::uint64_t> endpoints_disabled{0};
  std::atomic<std::uint64_t> http_requests{0};
  std::atomic<std::uint64_t> http_requests_rate_limited{0};
  std::atomic<std::int64_t> deliveries_in_flight{0};

  void observe_attempt_latency(double seconds);
  std::string render_prometheus() const;

 private:
  static constexpr std::array<double, 12> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                             0.5,   1,    2.5,   5,    10,  30};
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size()> latency_buckets_{};
  std::atomic<std::uint64_t> latency_count_{0};
  std::atomic<std::uint64_t> latency_sum_us_{0};
};

}  // namespace ferry
