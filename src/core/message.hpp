#pragma once

#include <optional>
#include <string>
#include <vector>

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
  bool test = false;  // a test event (Send Test Event, a test-mode workspace, or marked so by the producer)
  // Its type's flags when it was published (e.g. "PASSIVE"), so that what a
  // message was counted as does not change when the catalog does.
  std::vector<std::string> flags;
};

}  // namespace ferry
