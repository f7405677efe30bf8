#pragma once

#include <array>
#include <chrono>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "api/api_rate_limiter.hpp"
#include "api/api_services.hpp"
#include "api/http_types.hpp"
#include "api/router.hpp"

namespace ferry {

// The API as an HttpHandler: authenticates, routes, and runs handlers on a
// small worker pool so network threads never wait on the store.
class ApiHandler final : public HttpHandler {
 public:
  ApiHandler(ApiServices services, int worker_threads, ApiRateLimiter::Limits limits = {});
  ~ApiHandler() override;

  void handle(HttpRequest request, HttpRespond respond) override;
  const Router& router() const { return router_; }
  // Waits for handlers already running, then stops the pool.
  void stop();

 private:
  void dispatch(HttpRequest request, HttpRespond respond, std::chrono::steady_clock::time_point received);
  Result<Caller> authenticate(const HttpRequest& request) const;

  ApiServices services_;
  Router router_;
  // Metrics of each route, in the order of router_.routes(), and of
  // requests no route took, by method (the last one for any other method).
  std::vector<HttpRouteMetrics*> route_metrics_;
  std::array<HttpRouteMetrics*, 8> unmatched_metrics_{};
  ApiRateLimiter rate_limiter_;
  boost::asio::thread_pool pool_;
};

}  // namespace ferry
