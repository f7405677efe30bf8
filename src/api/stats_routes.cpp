#include <cmath>

#include "api/api_services.hpp"
#include "api/api_support.hpp"
#include "core/attempt_stats.hpp"
#include "core/time_format.hpp"

namespace ferry {

namespace {

// Microsecond precision, as the attempts' latency_ms.
nlohmann::json milliseconds(std::optional<double> ms) {
  if (!ms) return nullptr;
  return std::round(*ms * 1000.0) / 1000.0;
}

nlohmann::json bucket_json(const StatsBucket& bucket) {
  const AttemptCounts& counts = bucket.counts;
  const auto rate = counts.success_rate();
  return {{"start", format_rfc3339(bucket.start_ms)},
          {"messages", bucket.messages ? nlohmann::json(*bucket.messages) : nlohmann::json(nullptr)},
          {"attempts", counts.attempts},
          {"succeeded", counts.succeeded},
          {"failed", counts.failed},
          {"success_rate", rate ? nlohmann::json(*rate) : nlohmann::json(nullptr)},
          {"latency_ms",
           {{"p50", milliseconds(counts.latency.percentile_ms(0.50))},
            {"p90", milliseconds(counts.latency.percentile_ms(0.90))},
            {"p99", milliseconds(counts.latency.percentile_ms(0.99))}}}};
}

nlohmann::json series_json(const StatsSeries& series, const std::optional<std::string>& endpoint_id) {
  nlohmann::json buckets = nlohmann::json::array();
  for (const auto& bucket : series.buckets) buckets.push_back(bucket_json(bucket));
  nlohmann::json totals = bucket_json(series.totals);
  totals.erase("start");
  return {{"since", format_rfc3339(series.window.since_ms)},
          {"until", format_rfc3339(series.window.until_ms)},
          {"bucket_seconds", series.window.bucket_ms / 1000},
          {"endpoint_id", endpoint_id ? nlohmann::json(*endpoint_id) : nlohmann::json(nullptr)},
          {"buckets", std::move(buckets)},
          {"totals", std::move(totals)}};
}

Error bad_query(std::string message) { return make_error(ErrorCode::bad_request, std::move(message)); }

// The window the query asks for (see stats_window for the defaults).
Result<StatsWindow> requested_window(std::string_view query, UnixMillis now_ms) {
  std::optional<UnixMillis> since;
  std::optional<UnixMillis> until;
  for (auto [name, target] : {std::pair{"since", &since}, std::pair{"until", &until}}) {
    if (auto text = query_param(query, name)) {
      *target = parse_time(*text);
      if (!*target) return bad_query(std::string(name) + " must be an RFC 3339 time or epoch milliseconds");
    }
  }
  std::optional<UnixMillis> bucket;
  if (auto text = query_param(query, "bucket")) {
    bucket = parse_stats_bucket(*text);
    if (!bucket) return bad_query("bucket must be one of 1m, 5m, 15m, 1h, 6h, 1d");
  }
  return stats_window(since, until, bucket, now_ms);
}

// Statistics of the workspace, or of one endpoint: attempts from the
// rollup, and (for the workspace) the messages published.
void answer_stats(ApiCall& call, const ApiServices& services, std::optional<std::string> endpoint_id) {
  const std::string& workspace_id = call.params["ws"];
  auto window = requested_window(call.request.query, services.clock.now_ms());
  if (!window) return call.respond(error_response(window.error()));
  StatsQuery query{*window, endpoint_id};
  auto attempts = services.store.attempt_stats(workspace_id, query);
  if (!attempts) return call.respond(error_response(attempts.error()));
  if (endpoint_id) {
    return call.respond(
        json_response(200, series_json(build_stats_series(*window, *attempts, std::nullopt), endpoint_id)));
  }
  auto messages = services.store.message_counts(workspace_id, *window);
  if (!messages) return call.respond(error_response(messages.error()));
  call.respond(json_response(
      200,
      series_json(build_stats_series(*window, *attempts, std::span<const MessageCountRow>(*messages)), std::nullopt)));
}

}  // namespace

void add_stats_routes(Router& router, const ApiServices& services) {
  const ApiServices* s = &services;
  router.add("GET", "/api/v1/workspaces/{ws}/stats", Access::workspace_or_portal, [s](ApiCall& call) {
    std::optional<std::string> endpoint_id = query_param(call.request.query, "endpoint");
    if (endpoint_id && endpoint_id->empty()) {
      return call.respond(error_response(bad_query("endpoint must be an endpoint id")));
    }
    answer_stats(call, *s, std::move(endpoint_id));
  });
  router.add("GET", "/api/v1/workspaces/{ws}/endpoints/{ep}/stats", Access::workspace_or_portal,
             [s](ApiCall& call) { answer_stats(call, *s, call.params["ep"]); });
}

}  // namespace ferry
