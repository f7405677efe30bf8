#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace ferry {

enum class DeliveryState { pending, retrying, succeeded, failed };

std::string_view delivery_state_name(DeliveryState state);
std::optional<DeliveryState> parse_delivery_state(std::string_view name);

// A message on its way to one endpoint.
struct Delivery {
  std::string id;
  std::string workspace_id;
  std::string message_id;
  std::string endpoint_id;
  DeliveryState state = DeliveryState::pending;
  int attempt_count = 0;
  UnixMillis next_attempt_at_ms = 0;  // meaningful while pending or retrying
  UnixMillis created_at_ms = 0;
  UnixMillis updated_at_ms = 0;
  // Which claim of this delivery the holder made (0: never claimed). An
  // attempt's outcome only moves the delivery if its lease token is still the
  // current one, so a node whose lease expired and was taken over cannot
  // overwrite the new holder's work.
  std::int64_t lease_token = 0;
};

}  // namespace ferry
