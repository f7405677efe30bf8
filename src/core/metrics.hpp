#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry {

// ---- Prometheus text exposition format (version 0.0.4) --------------------

namespace prometheus {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

// A label value as the format quotes it: backslash, double quote and line
// feed escaped.
std::string escape_label_value(std::string_view value);
// HELP text: backslash and line feed escaped.
std::string escape_help(std::string_view text);
// A sample value or bucket bound: the shortest decimal that reads back as
// the same double ("0.005", "1", "1e+21"), or "+Inf", "-Inf", "NaN".
std::string format_value(double value);

// Builds an exposition. Each family (HELP and TYPE lines, then its samples)
// must be written whole before the next one starts.
class Writer {
 public:
  // `type`: "counter", "gauge" or "histogram".
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  void sample(std::string_view name, const Labels& labels, std::uint64_t value);
  void sample(std::string_view name, const Labels& labels, std::int64_t value);

  std::string& text() { return out_; }

 private:
  void start_sample(std::string_view name, const Labels& labels);

  std::string out_;
};

}  // namespace prometheus

// A histogram with fixed bucket bounds. observe() is lock-free (two atomic
// additions); safe for concurrent use.
class Histogram {
 public:
  // Upper bounds, ascending and finite; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);

  // NaN is ignored.
  void observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  // Buckets are cumulative and end with +Inf equal to count, whatever
  // observations run meanwhile (the sum may lag or lead them by those).
  Snapshot snapshot() const;

  // `name`_bucket (with `le`), `name`_sum and `name`_count, with `labels`
  // before `le`. The family line is the caller's.
  static void write(prometheus::Writer& out, std::string_view name, const prometheus::Labels& labels,
                    const Snapshot& snapshot);

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative; the last one is +Inf
  std::atomic<double> sum_{0};
};

// What became of one attempt, as ferry_attempts_total labels it: an outcome
// and an error class, from a fixed set so the series stay bounded.
struct AttemptClass {
  std::string_view outcome;  // success, http_error, transport_error
  std::string_view error;    // none; 3xx, 4xx, 5xx, other (http); timeout, refused, dns, tls, ... (transport)
};
inline constexpr std::array<AttemptClass, 12> kAttemptClasses = {{
    {"success", "none"},
    {"http_error", "3xx"},
    {"http_error", "4xx"},
    {"http_error", "5xx"},
    {"http_error", "other"},
    {"transport_error", "timeout"},
    {"transport_error", "refused"},
    {"transport_error", "dns"},
    {"transport_error", "tls"},
    {"transport_error", "refused_target"},
    {"transport_error", "connection"},
    {"transport_error", "other"},
}};
// The index in kAttemptClasses of an attempt that got `status` (none on a
// transport error, then named by `error`). 2xx is a success; an unknown
// transport error name counts as other.
std::size_t attempt_class(std::optional<int> status, std::string_view error);

// Per-route figures of the HTTP API. observe() is lock-free.
class HttpRouteMetrics {
 public:
  HttpRouteMetrics(std::string method, std::string route);

  // A response with `status` (anything outside 100-599 counts as the 500
  // the server sends instead) after `seconds`.
  void observe(int status, double seconds);

  const std::string& method() const { return method_; }
  const std::string& route() const { return route_; }

 private:
  friend class Metrics;
  std::string method_;
  std::string route_;
  std::array<std::atomic<std::uint64_t>, 500> by_status_{};  // index: status - 100
  Histogram duration_;
};

// Process-wide figures, rendered in the Prometheus text format. Counters
// and gauges are atomics; everything is safe for concurrent use, and no
// increment takes a lock.
class Metrics {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  std::atomic<std::uint64_t> messages_published{0};
  std::atomic<std::uint64_t> messages_duplicate{0};
  std::atomic<std::uint64_t> deliveries_created{0};
  std::atomic<std::uint64_t> deliveries_succeeded{0};
  std::atomic<std::uint64_t> deliveries_failed{0};
  std::atomic<std::uint64_t> endpoints_disabled{0};
  std::atomic<std::uint64_t> http_requests_rate_limited{0};
  std::atomic<std::int64_t> deliveries_in_flight{0};
  // Claimed by this process and held in memory until their endpoint has a
  // free slot (endpoint concurrency) or a token (rate limit).
  std::atomic<std::int64_t> deliveries_waiting{0};

  // One attempt: its class (attempt_class()) and how long it took.
  void count_attempt(std::size_t attempt_class_index, double seconds);
  std::uint64_t attempts(std::string_view outcome, std::string_view error) const;
  // A successful delivery, `seconds` after its message was created.
  void observe_delivery_latency(double seconds);

  // One endpoint's failed attempts. The handle is created on first use
  // (under a lock); callers keep it and count without one.
  struct EndpointCounter {
    std::atomic<std::uint64_t> failures{0};
    // Set when its series was dropped (retain_endpoints): a fresh handle
    // must be asked for.
    std::atomic<bool> dropped{false};
  };
  std::shared_ptr<EndpointCounter> endpoint_counter(const std::string& workspace_id, const std::string& endpoint_id);
  // Drops the series of every endpoint `keep` says no to (deleted ones).
  void retain_endpoints(
      const std::function<bool(const std::string& workspace_id, const std::string& endpoint_id)>& keep);

  // The figures of one route of the API ("unmatched" for requests no route
  // took), created at router setup and kept by the caller; the same method
  // and route give the same object. Lives as long as this.
  HttpRouteMetrics& http_route(const std::string& method, const std::string& route);

  // Every family above, in the Prometheus text format.
  void render(prometheus::Writer& out) const;
  std::string render_prometheus() const;

  static const std::vector<double>& attempt_duration_buckets();
  static const std::vector<double>& delivery_latency_buckets();
  static const std::vector<double>& http_duration_buckets();

 private:
  std::array<std::atomic<std::uint64_t>, kAttemptClasses.size()> attempts_{};
  Histogram attempt_duration_;
  Histogram delivery_latency_;

  struct EndpointSeries {
    std::string workspace_id;
    std::string endpoint_id;
    std::shared_ptr<EndpointCounter> counter;
  };
  mutable std::mutex endpoints_mutex_;
  std::vector<EndpointSeries> endpoints_;  // sorted by (workspace_id, endpoint_id)

  mutable std::mutex routes_mutex_;
  std::vector<std::unique_ptr<HttpRouteMetrics>> routes_;
};

}  // namespace ferry
