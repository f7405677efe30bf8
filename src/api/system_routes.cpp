#include <nlohmann/json.hpp>

#include "api/api_services.hpp"
#include "api/api_support.hpp"
#include "api/metrics_route.hpp"
#include "core/wire_profile.hpp"

namespace ferry {

namespace {

// OpenAPI 3.1 paths derived from the router itself, so the description
// cannot drift from the routes that exist.
nlohmann::json openapi_document(const Router& router, const std::string& version) {
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& route : router.routes()) {
    nlohmann::json operation = {{"responses", {{"default", {{"description", "see docs/api.md"}}}}}};
    if (route.access != Access::open)
      operation["security"] = nlohmann::json::array({{{"bearer", nlohmann::json::array()}}});
    nlohmann::json parameters = nlohmann::json::array();
    for (std::size_t open = route.pattern.find('{'); open != std::string::npos;
         open = route.pattern.find('{', open + 1)) {
      const std::size_t close = route.pattern.find('}', open);
      parameters.push_back({{"name", route.pattern.substr(open + 1, close - open - 1)},
                            {"in", "path"},
                            {"required", true},
                            {"schema", {{"type", "string"}}}});
    }
    if (!parameters.empty()) operation["parameters"] = std::move(parameters);
    std::string method = route.method;
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    paths[route.pattern][method] = std::move(operation);
  }
  return {{"openapi", "3.1.0"},
          {"info", {{"title", "Ferry"}, {"version", version}}},
          {"components", {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
          {"paths", std::move(paths)}};
}

}  // namespace

void add_system_routes(Router& router, const ApiServices& services) {
  router.add("GET", "/healthz", Access::open, [](ApiCall& call) {
    call.respond(json_response(200, {{"status", "ok"}}));
  });
  router.add("GET", "/metrics", Access::open, metrics_route(services));
  router.add("GET", "/api/openapi.json", Access::open, [&router, version = services.version](ApiCall& call) {
    call.respond(json_response(200, openapi_document(router, version)));
  });
  // Every profile in full, in the format of a profile file (docs/profiles.md).
  router.add("GET", "/api/v1/profiles", Access::any, [s = &services](ApiCall& call) {
    nlohmann::json data = nlohmann::json::array();
    for (const WireProfile* profile : s->profiles.all()) {
      data.push_back(nlohmann::json::parse(wire_profile_to_json(*profile)));
    }
    call.respond(json_response(200, {{"data", std::move(data)}}));
  });
}

}  // namespace ferry
