#include "api/api_services.hpp"
#include "api/api_support.hpp"
#include "api/json_views.hpp"
#include "core/ids.hpp"
#include "core/portal_token.hpp"
#include "core/signature.hpp"
#include "core/time_format.hpp"

namespace ferry {

namespace {

bool is_valid_workspace_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Reads the settings a request may change. Whoever may change the catalog,
// validation or test mode changes what the workspace accepts: admin only.
Status apply_settings(const nlohmann::json& body, const ApiServices& services, bool admin, Workspace& workspace) {
  auto catalog = optional_string(body, "catalog");
  if (!catalog) return catalog.error();
  auto profile = optional_string(body, "profile");
  if (!profile) return profile.error();
  auto validate = optional_bool(body, "validate_payloads");
  if (!validate) return validate.error();
  auto test_mode = optional_bool(body, "test_mode");
  if (!test_mode) return test_mode.error();
  const bool catalog_given = body.contains("catalog");
  if (!admin && (catalog_given || validate->has_value() || test_mode->has_value())) {
    return make_error(ErrorCode::forbidden, "changing the catalog, validation or test mode needs the admin token");
  }
  if (catalog_given) {
    workspace.catalog = catalog->value_or("");
    const CatalogSettings* settings = services.catalogs.snapshot()->catalog(workspace.catalog);
    if (settings == nullptr) {
      return make_error(ErrorCode::unprocessable,
                        "\"catalog\": no catalog is named \"" + workspace.catalog + "\" (GET /api/v1/catalogs)");
    }
    // A catalog brings its product's wire profile unless one is named.
    if (!body.contains("profile")) workspace.profile = settings->profile;
  }
  if (body.contains("profile")) {
    workspace.profile = profile->value_or("");
    if (!workspace.profile.empty() && services.profiles.find(workspace.profile) == nullptr) {
      return make_error(ErrorCode::unprocessable, "\"profile\" must name a wire profile (GET /api/v1/profiles)");
    }
  }
  if (*validate) workspace.validate_payloads = **validate;
  if (*test_mode) workspace.test_mode = **test_mode;
  return {};
}

// The index keeps each workspace's settings: refresh them after a change
// (its endpoints are not read again).
void respond_with_workspace(ApiCall& call, const ApiServices& services, int status, Result<Workspace> saved) {
  if (!saved) return call.respond(error_response(saved.error()));
  if (auto refreshed = services.refresh_workspace_settings(saved->id); !refreshed) {
    return call.respond(error_response(refreshed.error()));
  }
  call.respond(json_response(status, to_json(*saved)));
}

void create_workspace(ApiCall& call, const ApiServices& services) {
  auto body = json_object_body(call.request);
  if (!body) return call.respond(error_response(body.error()));
  auto name = required_string(*body, "name");
  if (!name) return call.respond(error_response(name.error()));
  auto id = optional_string(*body, "id");
  if (!id) return call.respond(error_response(id.error()));
  const UnixMillis now = services.clock.now_ms();
  Workspace workspace;
  workspace.id = id->value_or(new_id("ws", now));
  if (!is_valid_workspace_id(workspace.id)) {
    return call.respond(error_response(422, "unprocessable", "\"id\" must be 1 to 64 characters of [A-Za-z0-9_.-]"));
  }
  workspace.name = std::move(*name);
  if (auto applied = apply_settings(*body, services, call.caller.admin, workspace); !applied) {
    return call.respond(error_response(applied.error()));
  }
  workspace.created_at_ms = workspace.updated_at_ms = now;
  respond_with_workspace(call, services, 201, services.store.create_workspace(workspace));
}

void list_workspaces(ApiCall& call, const ApiServices& services) {
  if (!call.caller.admin) {
    // A workspace key sees its own workspace and nothing else.
    auto own = services.store.get_workspace(call.caller.workspace_id);
    if (!own) return call.respond(error_response(own.error()));
    return call.respond(
        json_response(200, {{"data", nlohmann::json::array({to_json(*own)})}, {"next_cursor", nullptr}}));
  }
  auto page = page_request(call.request.query);
  if (!page) return call.respond(error_response(page.error()));
  respond_with(call, services.store.list_workspaces(*page), 200,
               [](const Page<Workspace>& listed) { return page_to_json(listed); });
}

void update_workspace(ApiCall& call, const ApiServices& services) {
  auto body = json_object_body(call.request);
  if (!body) return call.respond(error_response(body.error()));
  auto workspace = services.store.get_workspace(call.params["ws"]);
  if (!workspace) return call.respond(error_response(workspace.error()));
  auto name = optional_string(*body, "name");
  if (!name) return call.respond(error_response(name.error()));
  if (*name) workspace->name = std::move(**name);
  if (auto applied = apply_settings(*body, services, call.caller.admin, *workspace); !applied) {
    return call.respond(error_response(applied.error()));
  }
  workspace->updated_at_ms = services.clock.now_ms();
  respond_with_workspace(call, services, 200, services.store.update_workspace(*workspace));
}

void create_api_key(ApiCall& call, const ApiServices& services) {
  auto body = json_object_body(call.request);
  if (!body) return call.respond(error_response(body.error()));
  auto name = optional_string(*body, "name");
  if (!name) return call.respond(error_response(name.error()));
  unsigned char random[24];
  random_bytes(random, sizeof random);
  const std::string token = "fk_" + to_hex(std::string_view(reinterpret_cast<char*>(random), sizeof random));
  const UnixMillis now = services.clock.now_ms();
  ApiKey key;
  key.id = new_id("key", now);
  key.workspace_id = call.params["ws"];
  key.name = name->value_or("");
  key.token_prefix = token.substr(0, 11);
  key.token_hash = sha256_hex(token);
  key.created_at_ms = now;
  auto created = services.store.create_api_key(key);
  if (!created) return call.respond(error_response(created.error()));
  nlohmann::json json = to_json(*created);
  json["token"] = token;  // shown once; only its hash is stored
  call.respond(json_response(201, json));
}

// Default and longest life of a portal link: long enough for a support
// session or a page left open, short enough that a link pasted somewhere
// stops working soon.
constexpr long long kPortalLinkSeconds = 3600;
constexpr long long kPortalLinkMaxSeconds = 7 * 24 * 3600;

void create_portal_link(ApiCall& call, const ApiServices& services) {
  long long expires_in = kPortalLinkSeconds;
  if (!call.request.body.empty()) {
    auto body = json_object_body(call.request);
    if (!body) return call.respond(error_response(body.error()));
    if (auto it = body->find("expires_in"); it != body->end()) {
      if (!it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > kPortalLinkMaxSeconds) {
        return call.respond(error_response(
            422, "unprocessable",
            "\"expires_in\" must be a whole number of seconds from 1 to " + std::to_string(kPortalLinkMaxSeconds)));
      }
      expires_in = it->get<long long>();
    }
  }
  PortalGrant grant{call.params["ws"], services.clock.now_ms() / 1000 + expires_in};
  const std::string token = mint_portal_token(services.portal_key, grant);
  // The token rides in the fragment, which browsers never send to a server
  // or put in a Referer, so proxies and logs do not collect it.
  call.respond(json_response(201, {{"workspace_id", grant.workspace_id},
                                   {"token", token},
                                   {"path", "/ui/portal#token=" + token},
                                   {"expires_at", format_rfc3339(grant.expires_at_s * 1000)}}));
}

}  // namespace

void add_workspace_routes(Router& router, const ApiServices& services) {
  const ApiServices* s = &services;
  router.add("POST", "/api/v1/workspaces", Access::admin, [s](ApiCall& call) { create_workspace(call, *s); });
  router.add("GET", "/api/v1/workspaces", Access::any, [s](ApiCall& call) { list_workspaces(call, *s); });
  router.add("GET", "/api/v1/workspaces/{ws}", Access::workspace_or_portal, [s](ApiCall& call) {
    respond_with(call, s->store.get_workspace(call.params["ws"]), 200, [](const Workspace& w) { return to_json(w); });
  });
  router.add("PATCH", "/api/v1/workspaces/{ws}", Access::workspace, [s](ApiCall& call) { update_workspace(call, *s); });
  router.add("DELETE", "/api/v1/workspaces/{ws}", Access::admin, [s](ApiCall& call) {
    const std::string& id = call.params["ws"];
    if (auto deleted = s->store.delete_workspace(id); !deleted) return call.respond(error_response(deleted.error()));
    s->subscriptions.remove_workspace(id, s->subscriptions.reload_ticket());
    if (s->endpoints_changed) s->endpoints_changed(id, "");
    call.respond(no_content());
  });
  router.add("POST", "/api/v1/workspaces/{ws}/portal-links", Access::workspace,
             [s](ApiCall& call) { create_portal_link(call, *s); });
  router.add("POST", "/api/v1/workspaces/{ws}/api-keys", Access::admin,
             [s](ApiCall& call) { create_api_key(call, *s); });
  router.add("GET", "/api/v1/workspaces/{ws}/api-keys", Access::admin, [s](ApiCall& call) {
    respond_with(call, s->store.list_api_keys(call.params["ws"]), 200,
                 [](const std::vector<ApiKey>& keys) { return list_to_json(keys); });
  });
  router.add("DELETE", "/api/v1/workspaces/{ws}/api-keys/{key}", Access::admin, [s](ApiCall& call) {
    if (auto deleted = s->store.delete_api_key(call.params["ws"], call.params["key"]); !deleted) {
      return call.respond(error_response(deleted.error()));
    }
    call.respond(no_content());
  });
}

}  // namespace ferry
