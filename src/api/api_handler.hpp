#pragma once

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
  void dispatch(HttpRequest request, HttpRespond respond);
  Result<Caller> authenticate(const HttpRequest& request) const;

  ApiServices services_;
  Router router_;
  ApiRateLimiter rate_limiter_;
  boost::asio::thread_pool pool_;
};

}  // namespace ferry
