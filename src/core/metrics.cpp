#include "core/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <tuple>

namespace ferry {

// ---- exposition -------------------------------------------------------------

namespace prometheus {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Plain decimals where they stay short ("0.0005", not "5e-04": bucket
  // bounds are label values, compared as text), the shortest form elsewhere.
  const double magnitude = std::fabs(value);
  const bool plain = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15);
  char buffer[64];
  const auto [end, ec] = plain ? std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed)
                               : std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc()) return "NaN";  // cannot happen: 64 bytes hold either form of these
  return std::string(buffer, end);
}

void Writer::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void Writer::start_sample(std::string_view name, const Labels& labels) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += labels[i].first;
      out_ += "=\"";
      out_ += escape_label_value(labels[i].second);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
}

void Writer::sample(std::string_view name, const Labels& labels, double value) {
  start_sample(name, labels);
  out_ += format_value(value);
  out_ += '\n';
}

void Writer::sample(std::string_view name, const Labels& labels, std::uint64_t value) {
  start_sample(name, labels);
  out_ += std::to_string(value);
  out_ += '\n';
}

void Writer::sample(std::string_view name, const Labels& labels, std::int64_t value) {
  start_sample(name, labels);
  out_ += std::to_string(value);
  out_ += '\n';
}

}  // namespace prometheus

// ---- histogram --------------------------------------------------------------

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;
  // The first bucket whose upper bound is >= value (Prometheus' `le`).
  const auto bucket =
      static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  snapshot.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(running);
  }
  snapshot.count = running;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

void Histogram::write(prometheus::Writer& out, std::string_view name, const prometheus::Labels& labels,
                      const Snapshot& snapshot) {
  const std::string bucket_name = std::string(name) + "_bucket";
  prometheus::Labels with_le = labels;
  with_le.emplace_back("le", "");
  for (std::size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    const std::string le = i < snapshot.bounds.size() ? prometheus::format_value(snapshot.bounds[i]) : "+Inf";
    with_le.back().second = le;
    out.sample(bucket_name, with_le, snapshot.cumulative[i]);
  }
  out.sample(std::string(name) + "_sum", labels, snapshot.sum);
  out.sample(std::string(name) + "_count", labels, snapshot.count);
}

// ---- attempt classes ----------------------------------------------------------

std::size_t attempt_class(std::optional<int> status, std::string_view error) {
  const auto index_of = [](std::string_view outcome, std::string_view name) {
    for (std::size_t i = 0; i < kAttemptClasses.size(); ++i) {
      if (kAttemptClasses[i].outcome == outcome && kAttemptClasses[i].error == name) return i;
    }
    return std::size_t{0};  // unreachable for the names used below
  };
  if (status) {
    if (*status >= 200 && *status < 300) return index_of("success", "none");
    if (*status >= 300 && *status < 400) return index_of("http_error", "3xx");
    if (*status >= 400 && *status < 500) return index_of("http_error", "4xx");
    if (*status >= 500 && *status < 600) return index_of("http_error", "5xx");
    return index_of("http_error", "other");
  }
  for (std::size_t i = 0; i < kAttemptClasses.size(); ++i) {
    if (kAttemptClasses[i].outcome == "transport_error" && kAttemptClasses[i].error == error) return i;
  }
  return index_of("transport_error", "other");
}

// ---- HTTP routes --------------------------------------------------------------

HttpRouteMetrics::HttpRouteMetrics(std::string method, std::string route)
    : method_(std::move(method)), route_(std::move(route)), duration_(Metrics::http_duration_buckets()) {}

void HttpRouteMetrics::observe(int status, double seconds) {
  if (status < 100 || status > 599) status = 500;
  by_status_[static_cast<std::size_t>(status - 100)].fetch_add(1, std::memory_order_relaxed);
  duration_.observe(seconds);
}

// ---- Metrics ------------------------------------------------------------------

const std::vector<double>& Metrics::attempt_duration_buckets() {
  static const std::vector<double> buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return buckets;
}

// From a few milliseconds (delivered at once) to two days (the default
// retry schedule spans about 33 hours).
const std::vector<double>& Metrics::delivery_latency_buckets() {
  static const std::vector<double> buckets = {0.005, 0.01, 0.025, 0.05, 0.1,  0.25, 0.5,  1,     2.5,   5,     10,
                                              30,    60,   300,   900,  1800, 3600, 7200, 21600, 43200, 86400, 172800};
  return buckets;
}

const std::vector<double>& Metrics::http_duration_buckets() {
  static const std::vector<double> buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return buckets;
}

Metrics::Metrics() : attempt_duration_(attempt_duration_buckets()), delivery_latency_(delivery_latency_buckets()) {}

void Metrics::count_attempt(std::size_t attempt_class_index, double seconds) {
  attempts_[std::min(attempt_class_index, attempts_.size() - 1)].fetch_add(1, std::memory_order_relaxed);
  attempt_duration_.observe(seconds);
}

std::uint64_t Metrics::attempts(std::string_view outcome, std::string_view error) const {
  for (std::size_t i = 0; i < kAttemptClasses.size(); ++i) {
    if (kAttemptClasses[i].outcome == outcome && kAttemptClasses[i].error == error) return attempts_[i].load();
  }
  return 0;
}

void Metrics::observe_delivery_latency(double seconds) { delivery_latency_.observe(std::max(0.0, seconds)); }

std::shared_ptr<Metrics::EndpointCounter> Metrics::endpoint_counter(const std::string& workspace_id,
                                                                    const std::string& endpoint_id) {
  std::lock_guard lock(endpoints_mutex_);
  const auto key = std::tie(workspace_id, endpoint_id);
  auto it = std::lower_bound(endpoints_.begin(), endpoints_.end(), key, [](const EndpointSeries& series, auto& k) {
    return std::tie(series.workspace_id, series.endpoint_id) < k;
  });
  if (it != endpoints_.end() && it->workspace_id == workspace_id && it->endpoint_id == endpoint_id) return it->counter;
  it = endpoints_.insert(it, EndpointSeries{workspace_id, endpoint_id, std::make_shared<EndpointCounter>()});
  return it->counter;
}

void Metrics::retain_endpoints(
    const std::function<bool(const std::string& workspace_id, const std::string& endpoint_id)>& keep) {
  std::lock_guard lock(endpoints_mutex_);
  std::erase_if(endpoints_, [&](const EndpointSeries& series) {
    if (keep(series.workspace_id, series.endpoint_id)) return false;
    series.counter->dropped.store(true, std::memory_order_relaxed);
    return true;
  });
}

HttpRouteMetrics& Metrics::http_route(const std::string& method, const std::string& route) {
  std::lock_guard lock(routes_mutex_);
  for (const auto& existing : routes_) {
    if (existing->method() == method && existing->route() == route) return *existing;
  }
  routes_.push_back(std::make_unique<HttpRouteMetrics>(method, route));
  return *routes_.back();
}

namespace {

void counter(prometheus::Writer& out, std::string_view name, std::string_view help,
             const std::atomic<std::uint64_t>& value) {
  out.family(name, "counter", help);
  out.sample(name, {}, value.load(std::memory_order_relaxed));
}

}  // namespace

void Metrics::render(prometheus::Writer& out) const {
  counter(out, "ferry_messages_published_total", "Messages stored (duplicates excluded).", messages_published);
  counter(out, "ferry_messages_duplicate_total", "Publishes answered with an earlier message (idempotency).",
          messages_duplicate);
  counter(out, "ferry_deliveries_created_total", "Deliveries created by fan-out.", deliveries_created);

  out.family("ferry_deliveries_finished_total", "counter",
             "Deliveries that reached a final state through an attempt of this process.");
  out.sample("ferry_deliveries_finished_total", {{"state", "succeeded"}}, deliveries_succeeded.load());
  out.sample("ferry_deliveries_finished_total", {{"state", "failed"}}, deliveries_failed.load());

  out.family("ferry_attempts_total", "counter",
             "Delivery attempts by outcome (success, http_error, transport_error) and error class.");
  for (std::size_t i = 0; i < kAttemptClasses.size(); ++i) {
    out.sample("ferry_attempts_total", {{"outcome", kAttemptClasses[i].outcome}, {"error", kAttemptClasses[i].error}},
               attempts_[i].load(std::memory_order_relaxed));
  }

  out.family("ferry_endpoint_attempt_failures_total", "counter",
             "Failed delivery attempts (no 2xx answer) per endpoint, for endpoints that exist and are enabled.");
  {
    std::lock_guard lock(endpoints_mutex_);
    for (const auto& series : endpoints_) {
      out.sample("ferry_endpoint_attempt_failures_total",
                 {{"workspace", series.workspace_id}, {"endpoint", series.endpoint_id}},
                 series.counter->failures.load(std::memory_order_relaxed));
    }
  }

  counter(out, "ferry_endpoints_disabled_total", "Endpoints disabled by delivery outcomes (410 Gone).",
          endpoints_disabled);

  out.family("ferry_deliveries_in_flight", "gauge", "Attempts of this process currently on the wire.");
  out.sample("ferry_deliveries_in_flight", {}, deliveries_in_flight.load(std::memory_order_relaxed));
  out.family("ferry_deliveries_waiting", "gauge",
             "Deliveries claimed by this process and held until their endpoint has a free slot or rate-limit token.");
  out.sample("ferry_deliveries_waiting", {}, deliveries_waiting.load(std::memory_order_relaxed));

  out.family("ferry_attempt_duration_seconds", "histogram", "Duration of delivery attempts.");
  Histogram::write(out, "ferry_attempt_duration_seconds", {}, attempt_duration_.snapshot());
  out.family("ferry_delivery_latency_seconds", "histogram",
             "Time from a message's creation to the end of its successful delivery to one endpoint.");
  Histogram::write(out, "ferry_delivery_latency_seconds", {}, delivery_latency_.snapshot());

  {
    std::lock_guard lock(routes_mutex_);
    out.family("ferry_http_requests_total", "counter", "API requests answered, by method, route pattern and status.");
    for (const auto& route : routes_) {
      for (std::size_t i = 0; i < route->by_status_.size(); ++i) {
        const auto count = route->by_status_[i].load(std::memory_order_relaxed);
        if (count == 0) continue;
        const std::string status = std::to_string(i + 100);
        out.sample("ferry_http_requests_total",
                   {{"method", route->method()}, {"route", route->route()}, {"status", status}}, count);
      }
    }
    out.family("ferry_http_request_duration_seconds", "histogram",
               "Time from receiving an API request to handing its response to the server, by method and route.");
    for (const auto& route : routes_) {
      const auto snapshot = route->duration_.snapshot();
      if (snapshot.count == 0) continue;
      Histogram::write(out, "ferry_http_request_duration_seconds",
                       {{"method", route->method()}, {"route", route->route()}}, snapshot);
    }
  }
  counter(out, "ferry_http_requests_rate_limited_total", "API requests refused with 429 by a token's rate limit.",
          http_requests_rate_limited);
}

std::string Metrics::render_prometheus() const {
  prometheus::Writer out;
  render(out);
  return std::move(out.text());
}

}  // namespace ferry
