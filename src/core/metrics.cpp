#include "core/metrics.hpp"

#include <cstdio>

namespace ferry {

void Metrics::observe_attempt_latency(double seconds) {
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) latency_buckets_[i].fetch_add(1, std::memory_order_relaxed);
  }
  latency_count_.fetch_add(1, std::memory_order_relaxed);
  latency_sum_us_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

namespace {
void counter(std::string& out, const char* name, const char* help, std::uint64_t value, const char* labels = "") {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
  out += std::string(name) + labels + " " + std::to_string(value) + "\n";
}
}  // namespace

std::string Metrics::render_prometheus() const {
  std::string out;
  counter(out, "ferry_messages_published_total", "Messages stored (duplicates excluded).", messages_published.load());
  counter(out, "ferry_messages_duplicate_total", "Publishes answered with an earlier message (idempotency).",
          messages_duplicate.load());
  counter(out, "ferry_deliveries_created_total", "Deliveries created by fan-out.", deliveries_created.load());
  out += "# HELP ferry_deliveries_finished_total Deliveries that reached a final state.\n"
         "# TYPE ferry_deliveries_finished_total counter\n";
  out += "ferry_deliveries_finished_total{state=\"succeeded\"} " + std::to_string(deliveries_succeeded.load()) + "\n";
  out += "ferry_deliveries_finished_total{state=\"failed\"} " + std::to_string(deliveries_failed.load()) + "\n";
  out += "# HELP ferry_attempts_total Delivery attempts by outcome.\n# TYPE ferry_attempts_total counter\n";
  out += "ferry_attempts_total{outcome=\"success\"} " + std::to_string(attempts_success.load()) + "\n";
  out += "ferry_attempts_total{outcome=\"http_error\"} " + std::to_string(attempts_http_error.load()) + "\n";
  out += "ferry_attempts_total{outcome=\"transport_error\"} " + std::to_string(attempts_transport_error.load()) + "\n";
  counter(out, "ferry_endpoints_disabled_total", "Endpoints disabled by delivery outcomes (410 Gone).",
          endpoints_disabled.load());
  counter(out, "ferry_http_requests_total", "API requests served.", http_requests.load());
  counter(out, "ferry_http_requests_rate_limited_total", "API requests refused with 429 by a token's rate limit.",
          http_requests_rate_limited.load());
  out += "# HELP ferry_deliveries_in_flight Attempts currently on the wire.\n# TYPE ferry_deliveries_in_flight gauge\n";
  out += "ferry_deliveries_in_flight " + std::to_string(deliveries_in_flight.load()) + "\n";
  out += "# HELP ferry_attempt_duration_seconds Latency of delivery attempts.\n"
         "# TYPE ferry_attempt_duration_seconds histogram\n";
  char line[128];
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    std::snprintf(line, sizeof line, "ferry_attempt_duration_seconds_bucket{le=\"%g\"} %llu\n", kLatencyBuckets[i],
                  static_cast<unsigned long long>(latency_buckets_[i].load()));
    out += line;
  }
  const auto count = latency_count_.load();
  out += "ferry_attempt_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(count) + "\n";
  std::snprintf(line, sizeof line, "ferry_attempt_duration_seconds_sum %.6f\n",
                static_cast<double>(latency_sum_us_.load()) / 1e6);
  out += line;
  out += "ferry_attempt_duration_seconds_count " + std::to_string(count) + "\n";
  return out;
}

}  // namespace ferry
