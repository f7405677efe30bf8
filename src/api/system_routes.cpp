#include <nlohmann/json.hpp>

#include "api/api_services.hpp"
#include "api/api_support.hpp"
#include "api/metrics_route.hpp"
#include "api/openapi_document.hpp"
#include "core/wire_profile.hpp"

namespace ferry {

void add_system_routes(Router& router, const ApiServices& services) {
  router.add("GET", "/healthz", Access::open, [](ApiCall& call) {
    call.respond(json_response(200, {{"status", "ok"}}));
  });
  router.add("GET", "/metrics", Access::open, metrics_route(services));
  // src/api/openapi.json as compiled in (api/openapi_document.hpp).
  router.add("GET", "/api/openapi.json", Access::open, [](ApiCall& call) {
    HttpResponse response;
    response.content_type = "application/json";
    response.body = std::string(openapi_json());
    call.respond(std::move(response));
  });
  // Every profile in full, in the format of a profile file (docs/profiles.md).
  router.add("GET", "/api/v1/profiles", Access::any_or_portal, [s = &services](ApiCall& call) {
    nlohmann::json data = nlohmann::json::array();
    for (const WireProfile* profile : s->profiles.all()) {
      data.push_back(nlohmann::json::parse(wire_profile_to_json(*profile)));
    }
    call.respond(json_response(200, {{"data", std::move(data)}}));
  });
}

}  // namespace ferry
