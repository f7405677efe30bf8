#include <nlohmann/json.hpp>

#include "api/api_services.hpp"
#include "api/api_support.hpp"
#include "api/json_views.hpp"
#include "catalog/catalog_file.hpp"

namespace ferry {

namespace {

nlohmann::json catalog_json(const CatalogSettings& settings, const CatalogSnapshot& snapshot) {
  auto document = nlohmann::json::parse(catalog_settings_to_json(settings));
  document["catalog"] = settings.name.empty() ? nlohmann::json(nullptr) : nlohmann::json(settings.name);
  int active = 0;
  for (const RegisteredType* type : snapshot.types(&settings.name)) active += type->type.archived ? 0 : 1;
  document["event_type_count"] = active;
  return document;
}

}  // namespace

void add_catalog_routes(Router& router, const ApiServices& services) {
  const ApiServices* s = &services;
  router.add("GET", "/api/v1/catalogs", Access::any_or_portal, [s](ApiCall& call) {
    const auto snapshot = s->catalogs.snapshot();
    nlohmann::json data = nlohmann::json::array();
    for (const CatalogSettings* settings : snapshot->catalogs()) {
      if (!settings->name.empty()) data.push_back(catalog_json(*settings, *snapshot));
    }
    call.respond(json_response(200, {{"data", std::move(data)}}));
  });
  router.add("GET", "/api/v1/catalogs/{name}", Access::any_or_portal, [s](ApiCall& call) {
    const auto snapshot = s->catalogs.snapshot();
    const std::string name = call.params["name"];
    const CatalogSettings* settings = name.empty() ? nullptr : snapshot->catalog(name);
    if (settings == nullptr) {
      return call.respond(error_response(make_error(ErrorCode::not_found, "no catalog is named \"" + name + "\"")));
    }
    nlohmann::json document = catalog_json(*settings, *snapshot);
    nlohmann::json types = nlohmann::json::array();
    for (const RegisteredType* type : snapshot->types(&settings->name)) types.push_back(to_json(type->type));
    document["event_types"] = std::move(types);
    call.respond(json_response(200, document));
  });
  // The body is a catalog file (docs/catalogs.md); loading it again replaces
  // it and archives the types it no longer lists.
  router.add("POST", "/api/v1/catalogs", Access::admin, [s](ApiCall& call) {
    auto file = parse_catalog_file(call.request.body,
                                   [s](std::string_view profile) { return s->profiles.find(profile) != nullptr; });
    if (!file) return call.respond(error_response(file.error()));
    auto loaded = s->catalogs.load(*file);
    if (!loaded) return call.respond(error_response(loaded.error()));
    call.respond(json_response(201, {{"catalog", loaded->catalog},
                                     {"types_loaded", loaded->types_loaded},
                                     {"types_archived", loaded->types_archived}}));
  });
}

}  // namespace ferry
