#include "api/api_services.hpp"
#include "api/api_support.hpp"
#include "api/json_views.hpp"
#include "core/time_format.hpp"
#include "ingest/message_preparation.hpp"

namespace ferry {

namespace {

// Answers a publish once its commit is durable: 202 with each message, or
// the error that stopped it (503 when the store could not commit).
Ingestor::Callback answer_publish(HttpRespond respond, Metrics& metrics, bool batch) {
  return [respond = std::move(respond), &metrics, batch](Result<std::vector<PublishOutcome>> outcomes) {
    if (!outcomes) return respond(error_response(outcomes.error()));
    HttpResponse answer;
    answer.status = 202;
    if (batch) answer.body = R"({"data":[)";
    for (std::size_t i = 0; i < outcomes->size(); ++i) {
      const PublishOutcome& outcome = (*outcomes)[i];
      if (outcome.error) return respond(error_response(*outcome.error));
      (outcome.duplicate ? metrics.messages_duplicate : metrics.messages_published)
          .fetch_add(1, std::memory_order_relaxed);
      metrics.deliveries_created.fetch_add(static_cast<std::uint64_t>(outcome.deliveries_created),
                                           std::memory_order_relaxed);
      if (i > 0) answer.body += ',';
      answer.body += publish_outcome_text(outcome);
    }
    if (batch) answer.body += "]}";
    respond(std::move(answer));
  };
}

// Applies the workspace's catalog to each message; errors of a batch name
// the failing item.
Status prepare_all(const ApiServices& services, const std::string& workspace_id, std::vector<ParsedMessage>& messages,
                   bool batch) {
  auto workspace = services.workspace_settings(workspace_id);
  if (!workspace) return workspace.error();
  const auto catalogs = services.catalogs.snapshot();
  for (std::size_t i = 0; i < messages.size(); ++i) {
    auto prepared = prepare_message(*catalogs, *workspace, std::move(messages[i]));
    if (!prepared) {
      Error error = prepared.error();
      if (batch) error.message = "messages[" + std::to_string(i) + "]: " + error.message;
      return error;
    }
    messages[i] = std::move(*prepared);
  }
  return {};
}

void publish(ApiCall& call, const ApiServices& services) {
  auto parsed = parse_publish_body(call.request.body);
  if (!parsed) return call.respond(error_response(parsed.error()));
  if (auto key = call.request.header("idempotency-key")) {
    if (key->empty() || key->size() > 256) {
      return call.respond(error_response(422, "unprocessable", "Idempotency-Key must be 1 to 256 characters"));
    }
    parsed->idempotency_key = std::string(*key);
  }
  std::vector<ParsedMessage> messages;
  messages.push_back(std::move(*parsed));
  if (auto prepared = prepare_all(services, call.params["ws"], messages, false); !prepared) {
    return call.respond(error_response(prepared.error()));
  }
  services.ingestor.publish(call.params["ws"], std::move(messages),
                            answer_publish(std::move(call.respond), services.metrics, false));
}

void publish_batch(ApiCall& call, const ApiServices& services) {
  auto parsed = parse_batch_body(call.request.body);
  if (!parsed) return call.respond(error_response(parsed.error()));
  if (auto prepared = prepare_all(services, call.params["ws"], *parsed, true); !prepared) {
    return call.respond(error_response(prepared.error()));
  }
  services.ingestor.publish(call.params["ws"], std::move(*parsed),
                            answer_publish(std::move(call.respond), services.metrics, true));
}

void list_messages(ApiCall& call, const ApiServices& services) {
  auto page = page_request(call.request.query);
  if (!page) return call.respond(error_response(page.error()));
  MessageQuery query;
  query.page = *page;
  query.type = query_param(call.request.query, "type");
  for (auto [name, target] : {std::pair{"since", &query.since_ms}, std::pair{"until", &query.until_ms}}) {
    if (auto text = query_param(call.request.query, name)) {
      *target = parse_time(*text);
      if (!*target) {
        return call.respond(
            error_response(400, "bad_request", std::string(name) + " must be an RFC 3339 time or epoch milliseconds"));
      }
    }
  }
  query.endpoint_id = query_param(call.request.query, "endpoint");
  if (auto status = query_param(call.request.query, "status")) {
    if (*status == "pending") {
      query.status = MessageDeliveryStatus::pending;
    } else if (*status == "succeeded") {
      query.status = MessageDeliveryStatus::succeeded;
    } else if (*status == "failed") {
      query.status = MessageDeliveryStatus::failed;
    } else {
      return call.respond(error_response(400, "bad_request", "status must be pending, succeeded or failed"));
    }
  }
  respond_with(call, services.store.list_messages(call.params["ws"], query), 200,
               [](const Page<Message>& listed) { return page_to_json(listed); });
}

// Lists per message only after checking the message exists, so an unknown
// message is 404 rather than an empty list.
template <class List>
void list_for_message(ApiCall& call, const ApiServices& services, List list) {
  if (auto message = services.store.get_message(call.params["ws"], call.params["msg"]); !message) {
    return call.respond(error_response(message.error()));
  }
  auto listed = list(call.params["ws"], call.params["msg"]);
  respond_with(call, listed, 200, [](const auto& items) { return list_to_json(items); });
}

}  // namespace

void add_message_routes(Router& router, const ApiServices& services) {
  const ApiServices* s = &services;
  const std::string base = "/api/v1/workspaces/{ws}/messages";
  router.add("POST", base, Access::workspace, [s](ApiCall& call) { publish(call, *s); });
  router.add("POST", base + "/batch", Access::workspace, [s](ApiCall& call) { publish_batch(call, *s); });
  router.add("GET", base, Access::workspace_or_portal, [s](ApiCall& call) { list_messages(call, *s); });
  router.add("GET", base + "/{msg}", Access::workspace_or_portal, [s](ApiCall& call) {
    respond_with(call, s->store.get_message(call.params["ws"], call.params["msg"]), 200,
                 [](const Message& message) { return to_json(message); });
  });
  router.add("GET", base + "/{msg}/deliveries", Access::workspace_or_portal, [s](ApiCall& call) {
    list_for_message(call, *s, [s](const std::string& ws, const std::string& msg) {
      return s->store.list_deliveries_for_message(ws, msg);
    });
  });
  router.add("GET", base + "/{msg}/attempts", Access::workspace_or_portal, [s](ApiCall& call) {
    list_for_message(call, *s, [s](const std::string& ws, const std::string& msg) {
      return s->store.list_attempts_for_message(ws, msg);
    });
  });
}

}  // namespace ferry
