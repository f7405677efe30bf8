#include "api/api_services.hpp"
#include "api/api_support.hpp"
#include "api/json_views.hpp"
#include "core/event_type_name.hpp"
#include "core/ids.hpp"
#include "core/signature.hpp"
#include "core/time_format.hpp"
#include "core/wire_profile.hpp"
#include "delivery/endpoint_url.hpp"
#include "ingest/message_preparation.hpp"

namespace ferry {

namespace {

constexpr std::size_t kMaxSecrets = 2;  // current and previous, while receivers switch over

bool is_header_token(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool is_reserved_header(std::string name) {
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name.starts_with("webhook-") || name == "content-type" || name == "content-length" || name == "host" ||
         name == "transfer-encoding" || name == "connection";
}

Error invalid(const std::string& message) { return make_error(ErrorCode::unprocessable, message); }

// Applies the fields present in `body` to `endpoint`; used by create and update.
Status apply_fields(const nlohmann::json& body, Endpoint& endpoint, const ApiServices& services) {
  if (auto it = body.find("url"); it != body.end()) {
    if (!it->is_string()) return invalid("\"url\" must be a string");
    endpoint.url = it->get<std::string>();
    if (auto valid = validate_endpoint_url(endpoint.url, services.targets); !valid) return valid;
  }
  if (auto it = body.find("filter_types"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return invalid("\"filter_types\" must be an array of strings");
    endpoint.filter_types.clear();
    for (const auto& item : *it) {
      if (!item.is_string() || !is_valid_type_filter(item.get<std::string>())) {
        return invalid("\"filter_types\" entries must be event type names, \"group.*\" or \"*\"");
      }
      endpoint.filter_types.push_back(item.get<std::string>());
    }
  }
  if (auto it = body.find("secret"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return invalid("\"secret\" must be a string");
    const std::string secret = it->get<std::string>();
    if (auto key = secret_key(secret); !key) return invalid("\"secret\": " + key.error().message);
    endpoint.secrets = {secret};
  }
  // null (or absent at creation) follows the workspace's profile.
  if (auto it = body.find("profile"); it != body.end()) {
    if (it->is_null()) {
      endpoint.profile.clear();
    } else if (!it->is_string() || services.profiles.find(it->get<std::string>()) == nullptr) {
      return invalid("\"profile\" must name a wire profile (GET /api/v1/profiles) or be null");
    } else {
      endpoint.profile = it->get<std::string>();
    }
  }
  if (auto it = body.find("headers"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return invalid("\"headers\" must be an object of strings");
    endpoint.headers.clear();
    for (const auto& [name, value] : it->items()) {
      if (!is_header_token(name)) return invalid("\"headers\": invalid header name \"" + name + "\"");
      if (is_reserved_header(name)) return invalid("\"headers\": \"" + name + "\" is set by Ferry");
      if (!value.is_string()) return invalid("\"headers\": values must be strings");
      const std::string text = value.get<std::string>();
      if (text.find_first_of("\r\n") != std::string::npos) return invalid("\"headers\": values must be one line");
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      endpoint.headers.emplace_back(lower, text);
    }
  }
  if (auto it = body.find("rate_limit"); it != body.end()) {
    if (it->is_null()) {
      endpoint.rate_limit.reset();
    } else if (!it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > 1'000'000) {
      return invalid("\"rate_limit\" must be a positive integer (requests per second) or null");
    } else {
      endpoint.rate_limit = static_cast<int>(it->get<long long>());
    }
  }
  if (auto description = optional_string(body, "description"); !description) {
    return description.error();
  } else if (*description) {
    endpoint.description = std::move(**description);
  }
  if (auto enabled = optional_bool(body, "enabled"); !enabled) {
    return enabled.error();
  } else if (*enabled) {
    endpoint.enabled = **enabled;
    if (endpoint.enabled)
      endpoint.disabled_reason.clear();
    else if (endpoint.disabled_reason.empty())
      endpoint.disabled_reason = "disabled through the API";
  }
  return {};
}

// Stores the change and refreshes the subscription index before answering,
// so a publish after the answer sees the new endpoint. Only this endpoint
// is read back: a change costs the same in a workspace of any size.
template <class Operation>
void store_and_respond(ApiCall& call, const ApiServices& services, int status, Operation operation) {
  auto saved = operation();
  if (!saved) return call.respond(error_response(saved.error()));
  if (auto refreshed = services.refresh_endpoint(call.params["ws"], saved->id); !refreshed) {
    return call.respond(error_response(refreshed.error()));
  }
  call.respond(json_response(status, to_json(*saved)));
}

void create_endpoint(ApiCall& call, const ApiServices& services) {
  auto body = json_object_body(call.request);
  if (!body) return call.respond(error_response(body.error()));
  if (!body->contains("url")) return call.respond(error_response(invalid("\"url\" is required")));
  const UnixMillis now = services.clock.now_ms();
  Endpoint endpoint;
  endpoint.id = new_id("ep", now);
  endpoint.workspace_id = call.params["ws"];
  if (auto applied = apply_fields(*body, endpoint, services); !applied)
    return call.respond(error_response(applied.error()));
  if (endpoint.secrets.empty()) endpoint.secrets = {generate_secret()};
  endpoint.created_at_ms = endpoint.updated_at_ms = now;
  store_and_respond(call, services, 201, [&] { return services.store.create_endpoint(endpoint); });
}

void update_endpoint(ApiCall& call, const ApiServices& services) {
  auto body = json_object_body(call.request);
  if (!body) return call.respond(error_response(body.error()));
  auto endpoint = services.store.get_endpoint(call.params["ws"], call.params["ep"]);
  if (!endpoint) return call.respond(error_response(endpoint.error()));
  if (auto applied = apply_fields(*body, *endpoint, services); !applied)
    return call.respond(error_response(applied.error()));
  endpoint->updated_at_ms = services.clock.now_ms();
  store_and_respond(call, services, 200, [&] { return services.store.update_endpoint(*endpoint); });
}

void rotate_secret(ApiCall& call, const ApiServices& services) {
  auto body =
      call.request.body.empty() ? Result<nlohmann::json>(nlohmann::json::object()) : json_object_body(call.request);
  if (!body) return call.respond(error_response(body.error()));
  auto endpoint = services.store.get_endpoint(call.params["ws"], call.params["ep"]);
  if (!endpoint) return call.respond(error_response(endpoint.error()));
  auto secret = optional_string(*body, "secret");
  if (!secret) return call.respond(error_response(secret.error()));
  const std::string next = secret->value_or(generate_secret());
  if (auto key = secret_key(next); !key)
    return call.respond(error_response(invalid("\"secret\": " + key.error().message)));
  // The previous secret keeps signing too until the next rotation.
  endpoint->secrets.insert(endpoint->secrets.begin(), next);
  if (endpoint->secrets.size() > kMaxSecrets) endpoint->secrets.resize(kMaxSecrets);
  endpoint->updated_at_ms = services.clock.now_ms();
  store_and_respond(call, services, 200, [&] { return services.store.update_endpoint(*endpoint); });
}

void send_test_event(ApiCall& call, const ApiServices& services) {
  auto body = json_object_body(call.request);
  if (!body) return call.respond(error_response(body.error()));
  auto type_name = required_string(*body, "type");
  if (!type_name) return call.respond(error_response(type_name.error()));
  auto endpoint = services.store.get_endpoint(call.params["ws"], call.params["ep"]);
  if (!endpoint) return call.respond(error_response(endpoint.error()));
  const std::string workspace_id = call.params["ws"];
  auto workspace = services.workspace_settings(workspace_id);
  if (!workspace) return call.respond(error_response(workspace.error()));
  auto message = test_message(*services.catalogs.snapshot(), *workspace, *type_name);
  if (!message) return call.respond(error_response(message.error()));
  services.ingestor.publish_test(
      workspace_id, std::move(*message), endpoint->id,
      [respond = std::move(call.respond), &services, workspace_id](Result<std::vector<PublishOutcome>> outcomes) {
        if (!outcomes) return respond(error_response(outcomes.error()));
        const PublishOutcome& outcome = outcomes->front();
        if (outcome.error) return respond(error_response(*outcome.error));
        nlohmann::json answer = {{"message", to_json(outcome.message)}, {"delivery", nullptr}};
        if (auto deliveries = services.store.list_deliveries_for_message(workspace_id, outcome.message.id);
            deliveries && !deliveries->empty()) {
          answer["delivery"] = to_json(deliveries->front());
        }
        respond(json_response(202, answer));
      });
}

// One request recovers at most this many deliveries (seconds of work even
// on PostgreSQL, where each costs about 30 us of index upkeep), so that no
// proxy's read timeout cuts it off; `more` asks the caller to send the same
// window again for the rest.
constexpr std::int64_t kMaxRecoveredPerRequest = 100'000;

// Recovery after an outage: every failed delivery of the endpoint created in
// [since, until) becomes due now, in bounded batches inside the store; the
// scheduler is woken after each batch, so sending starts while later
// batches are still being made due. Answers once every batch is committed.
void recover_endpoint(ApiCall& call, const ApiServices& services) {
  auto body = json_object_body(call.request);
  if (!body) return call.respond(error_response(body.error()));
  const UnixMillis now = services.clock.now_ms();
  RecoverRequest request;
  request.workspace_id = call.params["ws"];
  request.endpoint_id = call.params["ep"];
  request.now_ms = now;
  request.until_ms = now;
  for (auto [name, target, required] :
       {std::tuple{"since", &request.since_ms, true}, std::tuple{"until", &request.until_ms, false}}) {
    auto text = optional_string(*body, name);
    if (!text) return call.respond(error_response(text.error()));
    if (!*text) {
      if (required) return call.respond(error_response(invalid(std::string("\"") + name + "\" is required")));
      continue;
    }
    auto parsed = parse_time(**text);
    if (!parsed) {
      return call.respond(
          error_response(invalid(std::string("\"") + name + "\" must be an RFC 3339 time or epoch milliseconds")));
    }
    *target = *parsed;
  }
  if (request.until_ms <= request.since_ms) {
    return call.respond(error_response(invalid("\"until\" must be later than \"since\"")));
  }
  request.max_deliveries = kMaxRecoveredPerRequest;
  auto recovered = services.store.recover_failed_deliveries(request, [&services](std::int64_t) {
    if (services.wake_deliveries) services.wake_deliveries();
  });
  if (!recovered) return call.respond(error_response(recovered.error()));
  call.respond(json_response(202, {{"recovered", recovered->recovered},
                                   {"since", format_rfc3339(request.since_ms)},
                                   {"until", format_rfc3339(request.until_ms)},
                                   {"more", recovered->more}}));
}

}  // namespace

void add_endpoint_routes(Router& router, const ApiServices& services) {
  const ApiServices* s = &services;
  const std::string base = "/api/v1/workspaces/{ws}/endpoints";
  router.add("POST", base, Access::workspace_or_portal, [s](ApiCall& call) { create_endpoint(call, *s); });
  router.add("GET", base, Access::workspace_or_portal, [s](ApiCall& call) {
    auto page = page_request(call.request.query);
    if (!page) return call.respond(error_response(page.error()));
    respond_with(call, s->store.list_endpoints(call.params["ws"], *page), 200,
                 [](const Page<Endpoint>& listed) { return page_to_json(listed); });
  });
  router.add("GET", base + "/{ep}", Access::workspace_or_portal, [s](ApiCall& call) {
    respond_with(call, s->store.get_endpoint(call.params["ws"], call.params["ep"]), 200,
                 [](const Endpoint& endpoint) { return to_json(endpoint); });
  });
  router.add("PATCH", base + "/{ep}", Access::workspace_or_portal, [s](ApiCall& call) { update_endpoint(call, *s); });
  router.add("DELETE", base + "/{ep}", Access::workspace_or_portal, [s](ApiCall& call) {
    if (auto deleted = s->store.delete_endpoint(call.params["ws"], call.params["ep"]); !deleted) {
      return call.respond(error_response(deleted.error()));
    }
    if (auto refreshed = s->refresh_endpoint(call.params["ws"], call.params["ep"]); !refreshed) {
      return call.respond(error_response(refreshed.error()));
    }
    call.respond(no_content());
  });
  router.add("POST", base + "/{ep}/secret/rotate", Access::workspace_or_portal,
             [s](ApiCall& call) { rotate_secret(call, *s); });
  router.add("POST", base + "/{ep}/test", Access::workspace_or_portal,
             [s](ApiCall& call) { send_test_event(call, *s); });
  router.add("POST", base + "/{ep}/recover", Access::workspace_or_portal,
             [s](ApiCall& call) { recover_endpoint(call, *s); });
  router.add("GET", base + "/{ep}/deliveries", Access::workspace_or_portal, [s](ApiCall& call) {
    auto page = page_request(call.request.query);
    if (!page) return call.respond(error_response(page.error()));
    DeliveryQuery query;
    query.page = *page;
    if (auto state = query_param(call.request.query, "state")) {
      query.state = parse_delivery_state(*state);
      if (!query.state)
        return call.respond(error_response(400, "bad_request", "state must be pending, retrying, succeeded or failed"));
    }
    if (auto endpoint = s->store.get_endpoint(call.params["ws"], call.params["ep"]); !endpoint) {
      return call.respond(error_response(endpoint.error()));
    }
    respond_with(call, s->store.list_deliveries_for_endpoint(call.params["ws"], call.params["ep"], query), 200,
                 [](const Page<Delivery>& listed) { return page_to_json(listed); });
  });
  router.add("GET", base + "/{ep}/attempts", Access::workspace_or_portal, [s](ApiCall& call) {
    auto page = page_request(call.request.query);
    if (!page) return call.respond(error_response(page.error()));
    if (auto endpoint = s->store.get_endpoint(call.params["ws"], call.params["ep"]); !endpoint) {
      return call.respond(error_response(endpoint.error()));
    }
    std::optional<AttemptOutcome> outcome;
    if (auto text = query_param(call.request.query, "outcome")) {
      if (*text == "succeeded") {
        outcome = AttemptOutcome::succeeded;
      } else if (*text == "failed") {
        outcome = AttemptOutcome::failed;
      } else {
        return call.respond(error_response(400, "bad_request", "outcome must be succeeded or failed"));
      }
    }
    respond_with(call, s->store.list_attempts_for_endpoint(call.params["ws"], call.params["ep"], *page, outcome), 200,
                 [](const Page<Attempt>& listed) { return page_to_json(listed); });
  });
}

}  // namespace ferry
