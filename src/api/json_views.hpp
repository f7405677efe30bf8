#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/api_key.hpp"
#include "core/attempt.hpp"
#include "core/delivery.hpp"
#include "core/endpoint.hpp"
#include "core/event_type.hpp"
#include "core/message.hpp"
#include "core/page.hpp"
#include "core/workspace.hpp"
#include "store/store.hpp"

namespace ferry {

// The API's JSON shape of each domain object (see docs/api.md).
nlohmann::json to_json(const Workspace& workspace);
nlohmann::json to_json(const ApiKey& key);
nlohmann::json to_json(const Endpoint& endpoint);
nlohmann::json to_json(const Message& message);
nlohmann::json to_json(const Delivery& delivery);
nlohmann::json to_json(const Attempt& attempt);
nlohmann::json to_json(const EventType& type);
// A publish answer's message as JSON text, with "duplicate" and
// "deliveries". The payload goes in as the text it was stored as (valid
// JSON: every payload passed the publish parser) instead of being parsed and
// written out again, which was the larger part of answering a batch.
std::string publish_outcome_text(const PublishOutcome& outcome);

template <class T>
nlohmann::json page_to_json(const Page<T>& page) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& item : page.items) items.push_back(to_json(item));
  return {{"data", std::move(items)},
          {"next_cursor", page.next_cursor ? nlohmann::json(*page.next_cursor) : nlohmann::json(nullptr)}};
}

template <class T>
nlohmann::json list_to_json(const std::vector<T>& list) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& item : list) items.push_back(to_json(item));
  return {{"data", std::move(items)}};
}

}  // namespace ferry
