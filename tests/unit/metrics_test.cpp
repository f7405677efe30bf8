// The Prometheus text exposition: escaping, number formats, histograms
// (cumulative buckets ending in +Inf, _sum and _count), labelled families,
// and the structure of a whole rendering.
#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace ferry {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The value of the sample line "series value", or -1 when there is none.
double sample(const std::string& text, const std::string& series) {
  for (const auto& line : lines_of(text)) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

TEST(MetricsExposition, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(prometheus::escape_label_value("plain-id_1"), "plain-id_1");
  EXPECT_EQ(prometheus::escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(prometheus::escape_label_value("/api/v1/workspaces/{ws}"), "/api/v1/workspaces/{ws}");
  // HELP text keeps quotes as they are.
  EXPECT_EQ(prometheus::escape_help("say \"hi\"\\\nnext"), "say \"hi\"\\\\\\nnext");

  prometheus::Writer out;
  out.family("x_total", "counter", "Line one\nline two.");
  out.sample("x_total", {{"name", "q\"uote"}, {"path", "back\\slash"}}, std::uint64_t{3});
  out.sample("x_total", {}, std::uint64_t{0});
  EXPECT_EQ(out.text(),
            "# HELP x_total Line one\\nline two.\n"
            "# TYPE x_total counter\n"
            "x_total{name=\"q\\\"uote\",path=\"back\\\\slash\"} 3\n"
            "x_total 0\n");
}

TEST(MetricsExposition, FormatsNumbers) {
  EXPECT_EQ(prometheus::format_value(0), "0");
  EXPECT_EQ(prometheus::format_value(1), "1");
  EXPECT_EQ(prometheus::format_value(2.5), "2.5");
  EXPECT_EQ(prometheus::format_value(0.005), "0.005");
  EXPECT_EQ(prometheus::format_value(0.0005), "0.0005");  // not 5e-04: bounds are compared as text
  EXPECT_EQ(prometheus::format_value(172800), "172800");
  EXPECT_EQ(prometheus::format_value(-3.25), "-3.25");
  EXPECT_EQ(prometheus::format_value(0.1 + 0.2), "0.30000000000000004");  // reads back as the same double
  EXPECT_EQ(prometheus::format_value(1e300), "1e+300");
  EXPECT_EQ(prometheus::format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(prometheus::format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(prometheus::format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(MetricsHistogram, BucketsAreCumulativeAndEndWithInfEqualToCount) {
  Histogram histogram({0.005, 0.1, 1});
  for (const double value : {0.001, 0.005, 0.3, 100.0}) histogram.observe(value);
  histogram.observe(std::numeric_limits<double>::quiet_NaN());  // ignored
  const auto snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.cumulative, (std::vector<std::uint64_t>{2, 2, 3, 4}));  // 0.005 falls in le="0.005"
  EXPECT_EQ(snapshot.count, 4u);
  EXPECT_DOUBLE_EQ(snapshot.sum, 100.306);

  prometheus::Writer out;
  out.family("d_seconds", "histogram", "Durations.");
  Histogram::write(out, "d_seconds", {{"route", "/a/{id}"}}, snapshot);
  EXPECT_EQ(out.text(),
            "# HELP d_seconds Durations.\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{route=\"/a/{id}\",le=\"0.005\"} 2\n"
            "d_seconds_bucket{route=\"/a/{id}\",le=\"0.1\"} 2\n"
            "d_seconds_bucket{route=\"/a/{id}\",le=\"1\"} 3\n"
            "d_seconds_bucket{route=\"/a/{id}\",le=\"+Inf\"} 4\n"
            "d_seconds_sum{route=\"/a/{id}\"} 100.306\n"
            "d_seconds_count{route=\"/a/{id}\"} 4\n");
}

TEST(MetricsHistogram, EmptyHistogramHasZeroBuckets) {
  prometheus::Writer out;
  Histogram::write(out, "e", {}, Histogram({1}).snapshot());
  EXPECT_EQ(out.text(), "e_bucket{le=\"1\"} 0\ne_bucket{le=\"+Inf\"} 0\ne_sum 0\ne_count 0\n");
}

TEST(MetricsHistogram, ConcurrentObservationsAreAllCounted) {
  Histogram histogram(Metrics::http_duration_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&histogram, t] {
      for (int i = 0; i < 10000; ++i) histogram.observe(0.001 * (i % 100) + t);
    });
  }
  // Snapshots taken meanwhile are cumulative and consistent with their count.
  for (int i = 0; i < 100; ++i) {
    const auto snapshot = histogram.snapshot();
    for (std::size_t b = 1; b < snapshot.cumulative.size(); ++b) {
      ASSERT_LE(snapshot.cumulative[b - 1], snapshot.cumulative[b]);
    }
    ASSERT_EQ(snapshot.cumulative.back(), snapshot.count);
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(histogram.snapshot().count, 40000u);
}

TEST(MetricsAttempts, ClassesCoverEveryOutcomeFerryRecords) {
  const auto name = [](std::optional<int> status, std::string_view error) {
    const AttemptClass& c = kAttemptClasses[attempt_class(status, error)];
    return std::string(c.outcome) + "/" + std::string(c.error);
  };
  EXPECT_EQ(name(200, ""), "success/none");
  EXPECT_EQ(name(204, ""), "success/none");
  EXPECT_EQ(name(301, ""), "http_error/3xx");
  EXPECT_EQ(name(404, ""), "http_error/4xx");
  EXPECT_EQ(name(410, ""), "http_error/4xx");
  EXPECT_EQ(name(429, ""), "http_error/4xx");
  EXPECT_EQ(name(503, ""), "http_error/5xx");
  EXPECT_EQ(name(101, ""), "http_error/other");
  EXPECT_EQ(name(999, ""), "http_error/other");
  // Every transport error name of transport.hpp has its own class.
  for (const char* error : {"timeout", "refused", "dns", "tls", "refused_target", "connection", "other"}) {
    EXPECT_EQ(name(std::nullopt, error), std::string("transport_error/") + error);
  }
  EXPECT_EQ(name(std::nullopt, "something new"), "transport_error/other");  // bounded

  Metrics metrics;
  metrics.count_attempt(attempt_class(500, ""), 0.2);
  metrics.count_attempt(attempt_class(std::nullopt, "timeout"), 15);
  const std::string text = metrics.render_prometheus();
  EXPECT_EQ(sample(text, R"(ferry_attempts_total{outcome="http_error",error="5xx"})"), 1);
  EXPECT_EQ(sample(text, R"(ferry_attempts_total{outcome="transport_error",error="timeout"})"), 1);
  EXPECT_EQ(sample(text, R"(ferry_attempts_total{outcome="success",error="none"})"), 0);  // present from the start
  EXPECT_EQ(sample(text, "ferry_attempt_duration_seconds_count"), 2);
  EXPECT_EQ(sample(text, R"(ferry_attempt_duration_seconds_bucket{le="0.25"})"), 1);
  EXPECT_EQ(sample(text, R"(ferry_attempt_duration_seconds_bucket{le="10"})"), 1);
  EXPECT_EQ(sample(text, R"(ferry_attempt_duration_seconds_bucket{le="30"})"), 2);
  EXPECT_DOUBLE_EQ(sample(text, "ferry_attempt_duration_seconds_sum"), 15.2);
}

TEST(MetricsEndpoints, FailureSeriesAreLabelledEscapedAndDroppedOnRequest) {
  Metrics metrics;
  auto a = metrics.endpoint_counter("ws1", "ep_a");
  auto b = metrics.endpoint_counter("w\"s", "ep_b");
  EXPECT_EQ(metrics.endpoint_counter("ws1", "ep_a"), a);  // one counter per endpoint
  a->failures += 2;
  b->failures += 1;
  std::string text = metrics.render_prometheus();
  EXPECT_EQ(sample(text, R"(ferry_endpoint_attempt_failures_total{workspace="ws1",endpoint="ep_a"})"), 2);
  EXPECT_EQ(sample(text, R"(ferry_endpoint_attempt_failures_total{workspace="w\"s",endpoint="ep_b"})"), 1);

  metrics.retain_endpoints([](const std::string& workspace, const std::string&) { return workspace == "ws1"; });
  EXPECT_TRUE(b->dropped.load());
  EXPECT_FALSE(a->dropped.load());
  text = metrics.render_prometheus();
  EXPECT_EQ(text.find("ep_b"), std::string::npos);
  EXPECT_EQ(sample(text, R"(ferry_endpoint_attempt_failures_total{workspace="ws1",endpoint="ep_a"})"), 2);
  // Asked for again, the endpoint starts from zero.
  EXPECT_EQ(metrics.endpoint_counter("w\"s", "ep_b")->failures.load(), 0u);
}

TEST(MetricsHttp, RequestsByMethodRouteAndStatusWithDurations) {
  Metrics metrics;
  auto& route = metrics.http_route("GET", "/api/v1/workspaces/{ws}");
  EXPECT_EQ(&metrics.http_route("GET", "/api/v1/workspaces/{ws}"), &route);
  auto& unmatched = metrics.http_route("GET", "unmatched");
  metrics.http_route("POST", "/api/v1/workspaces");  // never called: no series
  route.observe(200, 0.002);
  route.observe(200, 0.004);
  route.observe(404, 0.0004);
  route.observe(1000, 0.1);  // the server answers 500 for a status it cannot send
  unmatched.observe(404, 0.0001);
  const std::string text = metrics.render_prometheus();
  const std::string labels = R"(method="GET",route="/api/v1/workspaces/{ws}")";
  EXPECT_EQ(sample(text, "ferry_http_requests_total{" + labels + R"(,status="200"})"), 2);
  EXPECT_EQ(sample(text, "ferry_http_requests_total{" + labels + R"(,status="404"})"), 1);
  EXPECT_EQ(sample(text, "ferry_http_requests_total{" + labels + R"(,status="500"})"), 1);
  EXPECT_EQ(sample(text, R"(ferry_http_requests_total{method="GET",route="unmatched",status="404"})"), 1);
  EXPECT_EQ(text.find(R"(route="/api/v1/workspaces",)"), std::string::npos);
  EXPECT_EQ(sample(text, "ferry_http_request_duration_seconds_bucket{" + labels + R"(,le="0.0005"})"), 1);
  EXPECT_EQ(sample(text, "ferry_http_request_duration_seconds_bucket{" + labels + R"(,le="0.005"})"), 3);
  EXPECT_EQ(sample(text, "ferry_http_request_duration_seconds_bucket{" + labels + R"(,le="+Inf"})"), 4);
  EXPECT_EQ(sample(text, "ferry_http_request_duration_seconds_count{" + labels + "}"), 4);
}

// Every family is announced once by HELP then TYPE, and its samples follow it
// before the next family starts; histograms have cumulative buckets ending
// in +Inf equal to their _count.
TEST(MetricsRender, EveryFamilyIsWellFormed) {
  Metrics metrics;
  metrics.messages_published += 3;
  metrics.count_attempt(attempt_class(200, ""), 0.01);
  metrics.observe_delivery_latency(0.5);
  metrics.observe_delivery_latency(-1);  // clock skew between nodes: counted as 0
  metrics.endpoint_counter("ws", "ep")->failures += 1;
  metrics.http_route("GET", "/healthz").observe(200, 0.001);
  const std::string text = metrics.render_prometheus();
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');

  std::set<std::string> families;
  std::string family, type;
  std::map<std::string, std::vector<std::uint64_t>> buckets;  // per histogram series (labels without le)
  std::map<std::string, double> counts;
  const auto lines = lines_of(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.starts_with("# HELP ")) {
      family = line.substr(7, line.find(' ', 7) - 7);
      ASSERT_TRUE(families.insert(family).second) << "family twice: " << family;
      ASSERT_LT(i + 1, lines.size());
      ASSERT_TRUE(lines[i + 1].starts_with("# TYPE " + family + " ")) << lines[i + 1];
      type = lines[i + 1].substr(7 + family.size() + 1);
      ASSERT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << type;
      if (type == "counter") {
        EXPECT_TRUE(family.ends_with("_total")) << family;
      }
      ++i;
      continue;
    }
    ASSERT_FALSE(line.starts_with("#")) << line;
    const std::string name = line.substr(0, line.find_first_of("{ "));
    if (type == "histogram") {
      ASSERT_TRUE(name == family + "_bucket" || name == family + "_sum" || name == family + "_count") << line;
      const auto open = line.find('{');
      std::string labels = open == std::string::npos ? "" : line.substr(open, line.rfind('}') - open + 1);
      if (name == family + "_bucket") {
        const auto le = labels.find("le=\"");
        ASSERT_NE(le, std::string::npos) << line;
        const std::string series = family + labels.substr(0, le);
        buckets[series].push_back(std::stoull(line.substr(line.rfind(' ') + 1)));
        if (labels.substr(le) == "le=\"+Inf\"}") counts[series] = -1;  // seen
      } else if (name == family + "_count") {
        const std::string series = family + (labels.empty() ? "{" : labels.substr(0, labels.size() - 1) + ",");
        ASSERT_EQ(counts.count(series), 1u) << "no +Inf bucket before " << line;
        counts[series] = std::stod(line.substr(line.rfind(' ') + 1));
        ASSERT_EQ(static_cast<double>(buckets[series].back()), counts[series]) << line;
      }
    } else {
      ASSERT_EQ(name, family) << line;
    }
  }
  for (const auto& [series, values] : buckets) {
    for (std::size_t b = 1; b < values.size(); ++b) EXPECT_LE(values[b - 1], values[b]) << series;
  }
  for (const char* expected :
       {"ferry_messages_published_total", "ferry_attempts_total", "ferry_deliveries_finished_total",
        "ferry_endpoint_attempt_failures_total", "ferry_deliveries_in_flight", "ferry_deliveries_waiting",
        "ferry_attempt_duration_seconds", "ferry_delivery_latency_seconds", "ferry_http_requests_total",
        "ferry_http_request_duration_seconds", "ferry_http_requests_rate_limited_total",
        "ferry_endpoints_disabled_total"}) {
    EXPECT_TRUE(families.contains(expected)) << expected;
  }
  EXPECT_EQ(sample(text, "ferry_delivery_latency_seconds_count"), 2);
  EXPECT_EQ(sample(text, R"(ferry_delivery_latency_seconds_bucket{le="0.005"})"), 1);
  EXPECT_EQ(sample(text, "ferry_delivery_latency_seconds_sum"), 0.5);
}

}  // namespace
}  // namespace ferry
