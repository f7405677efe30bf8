#include "core/delivery.hpp"

namespace ferry {

std::string_view delivery_state_name(DeliveryState state) {
  switch (state) {
    case DeliveryState::pending: return "pending";
    case DeliveryState::retrying: return "retrying";
    case DeliveryState::succeeded: return "succeeded";
    case DeliveryState::failed: return "failed";
  }
  return "pending";
}

std::optional<DeliveryState> parse_delivery_state(std::string_view name) {
  for (auto state : {DeliveryState::pending, DeliveryState::retrying, DeliveryState::succeeded,
                     DeliveryState::failed}) {
    if (delivery_state_name(state) == name) return state;
  }
  return std::nullopt;
}

}  // namespace ferry
