#include "api/api_handler.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "api/api_support.hpp"
#include "api/ui_assets.hpp"
#include "core/portal_token.hpp"
#include "core/signature.hpp"

namespace ferry {

namespace {

// Methods that label requests no route took; any other is "other", so a
// client cannot make up new series.
constexpr std::array<std::string_view, 8> kMethodLabels = {"GET",   "HEAD",   "POST",    "PUT",
                                                           "PATCH", "DELETE", "OPTIONS", "other"};

std::size_t method_label(std::string_view method) {
  for (std::size_t i = 0; i + 1 < kMethodLabels.size(); ++i) {
    if (kMethodLabels[i] == method) return i;
  }
  return kMethodLabels.size() - 1;
}

// Counts the response and its latency on its way out (from whichever
// thread answers), before the client can see it.
HttpRespond counted(HttpRouteMetrics& metrics, std::chrono::steady_clock::time_point received, HttpRespond respond) {
  return [&metrics, received, respond = std::move(respond)](HttpResponse response) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - received;
    metrics.observe(response.status, elapsed.count());
    respond(std::move(response));
  };
}

}  // namespace

ApiHandler::ApiHandler(ApiServices services, int worker_threads, ApiRateLimiter::Limits limits)
    : services_(std::move(services)), rate_limiter_(limits), pool_(static_cast<std::size_t>(worker_threads)) {
  add_system_routes(router_, services_);
  add_workspace_routes(router_, services_);
  add_endpoint_routes(router_, services_);
  add_message_routes(router_, services_);
  add_delivery_routes(router_, services_);
  add_event_type_routes(router_, services_);
  add_catalog_routes(router_, services_);
  add_stats_routes(router_, services_);
  for (const auto& route : router_.routes()) {
    route_metrics_.push_back(&services_.metrics.http_route(route.method, route.pattern));
  }
  for (std::size_t i = 0; i < kMethodLabels.size(); ++i) {
    unmatched_metrics_[i] = &services_.metrics.http_route(std::string(kMethodLabels[i]), "unmatched");
  }
}

ApiHandler::~ApiHandler() { stop(); }

void ApiHandler::stop() { pool_.join(); }

void ApiHandler::handle(HttpRequest request, HttpRespond respond) {
  const auto received = std::chrono::steady_clock::now();
  boost::asio::post(pool_, [this, request = std::move(request), respond = std::move(respond), received]() mutable {
    dispatch(std::move(request), std::move(respond), received);
  });
}

Result<Caller> ApiHandler::authenticate(const HttpRequest& request) const {
  auto header = request.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!header || header->size() <= kBearer.size() || !header->starts_with(kBearer)) {
    return make_error(ErrorCode::unauthorized, "missing \"Authorization: Bearer TOKEN\" header");
  }
  const std::string_view token = header->substr(kBearer.size());
  if (!services_.admin_token.empty() && constant_time_equals(token, services_.admin_token)) {
    return Caller{true, "", "", false};
  }
  if (token.starts_with(kPortalTokenPrefix) && !services_.admin_token.empty()) {
    auto grant = read_portal_token(services_.portal_key, token, services_.clock.now_ms() / 1000);
    if (!grant) return grant.error();
    return Caller{false, grant->workspace_id, "portal:" + grant->workspace_id, true};
  }
  // Keys are looked up by the SHA-256 of the whole token: the stored hash
  // reveals nothing, and equal hashes mean equal tokens.
  auto key = services_.store.find_api_key_by_hash(sha256_hex(token));
  if (!key) {
    if (key.error().code == ErrorCode::not_found) return make_error(ErrorCode::unauthorized, "unknown token");
    return key.error();
  }
  return Caller{false, key->workspace_id, key->id, false};
}

void ApiHandler::dispatch(HttpRequest request, HttpRespond respond, std::chrono::steady_clock::time_point received) {
  // The dashboard's files (/ui, /ui/…) are served here, outside the router:
  // they are static pages, not API operations, so they stay out of the
  // OpenAPI document and of the per-route metrics (their series would be one
  // per file), and need no token (the page's own API calls carry it).
  if (auto page = serve_ui(request)) {
    respond(std::move(*page));
    return;
  }
  auto matched = router_.match(request.method, request.path);
  // Labelled by the route's pattern, never the path: ids would make a
  // series per resource.
  const auto* match_found = std::get_if<Router::Match>(&matched);
  respond =
      counted(match_found ? *route_metrics_[match_found->index] : *unmatched_metrics_[method_label(request.method)],
              received, std::move(respond));
  if (auto* miss = std::get_if<Router::Miss>(&matched)) {
    if (*miss == Router::Miss::method_not_allowed) {
      respond(method_not_allowed(request.method));
    } else {
      respond(error_response(404, "not_found", "no such route"));
    }
    return;
  }
  auto& match = std::get<Router::Match>(matched);
  ApiCall call{std::move(request), std::move(match.params), Caller{}, std::move(respond)};
  if (match.access != Access::open) {
    auto caller = authenticate(call.request);
    if (!caller) {
      auto response = error_response(caller.error());
      if (caller.error().code == ErrorCode::unauthorized) response.headers.emplace_back("www-authenticate", "Bearer");
      call.respond(std::move(response));
      return;
    }
    call.caller = std::move(*caller);
    if (call.caller.portal && match.access != Access::workspace_or_portal && match.access != Access::any_or_portal) {
      call.respond(error_response(403, "forbidden", "a portal link cannot use this route"));
      return;
    }
    if (const UnixMillis wait_ms = rate_limiter_.admit(call.caller, services_.clock.now_ms()); wait_ms > 0) {
      services_.metrics.http_requests_rate_limited.fetch_add(1, std::memory_order_relaxed);
      const auto seconds = std::to_string((wait_ms + 999) / 1000);
      auto response =
          error_response(429, kRateLimitedCode, "too many requests with this token; retry after " + seconds + " s");
      response.headers.emplace_back("retry-after", seconds);
      call.respond(std::move(response));
      return;
    }
    const std::string& workspace_id = call.params["ws"];
    if (!workspace_id.empty()) {
      // Another workspace's routes look exactly like missing ones.
      if (!call.caller.admin && call.caller.workspace_id != workspace_id) {
        call.respond(error_response(404, "not_found", "workspace not found"));
        return;
      }
      // The subscription index knows every workspace this process has
      // loaded; only one it has not heard of yet costs a read of the store.
      if (!services_.subscriptions.workspace(workspace_id)) {
        if (auto workspace = services_.store.get_workspace(workspace_id); !workspace) {
          call.respond(error_response(workspace.error()));
          return;
        }
      }
    }
    if (match.access == Access::admin && !call.caller.admin) {
      call.respond(error_response(403, "forbidden", "this route needs the admin token"));
      return;
    }
  }
  try {
    (*match.handler)(call);
  } catch (const std::exception& error) {
    // Library exceptions (JSON conversions) end here, never in the server.
    spdlog::error("handler for {} {} threw: {}", call.request.method, call.request.path, error.what());
    call.respond(error_response(500, "internal", "internal error"));
  }
}

}  // namespace ferry
