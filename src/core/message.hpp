#pragma once

#include <optional>
#include <string>

#include "core/clock.hpp"

namespace ferry {

// One published event.
struct Message {
  std::string id;
  std::string workspace_id;
  std::string type;
  std::string payload;  // the raw JSON bytes of the producer's "data", kept verbatim
  UnixMillis created_at_ms = 0;
  std::optional<std::string> idempotency_key;
  bool test = false;  // sent by "Send Test Event", not by the producer
};

}  // namespace ferry
