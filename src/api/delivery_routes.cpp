#include "api/api_services.hpp"
#include "api/api_support.hpp"
#include "api/json_views.hpp"

namespace ferry {

void add_delivery_routes(Router& router, const ApiServices& services) {
  const ApiServices* s = &services;
  const std::string base = "/api/v1/workspaces/{ws}/deliveries/{dlv}";
  router.add("GET", base, Access::workspace_or_portal, [s](ApiCall& call) {
    respond_with(call, s->store.get_delivery(call.params["ws"], call.params["dlv"]), 200,
                 [](const Delivery& delivery) { return to_json(delivery); });
  });
  router.add("GET", base + "/attempts", Access::workspace_or_portal, [s](ApiCall& call) {
    if (auto delivery = s->store.get_delivery(call.params["ws"], call.params["dlv"]); !delivery) {
      return call.respond(error_response(delivery.error()));
    }
    respond_with(call, s->store.list_attempts_for_delivery(call.params["ws"], call.params["dlv"]), 200,
                 [](const std::vector<Attempt>& attempts) { return list_to_json(attempts); });
  });
  router.add("POST", base + "/resend", Access::workspace_or_portal, [s](ApiCall& call) {
    auto delivery = s->store.resend_delivery(call.params["ws"], call.params["dlv"], s->clock.now_ms());
    if (delivery) s->wake_deliveries();
    respond_with(call, delivery, 202, [](const Delivery& resent) { return to_json(resent); });
  });
}

}  // namespace ferry
