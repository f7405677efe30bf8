#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/delivery.hpp"

namespace ferry {

// When to try a delivery again, and when to give up.
struct RetryPolicy {
  // The delay before each attempt; its length is the number of attempts.
  // Default: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
  std::vector<std::chrono::milliseconds> schedule = default_schedule();
  double time_factor = 1.0;  // multiplies every scheduled delay (tests use 0.001)
  double jitter = 0.2;       // a scheduled delay varies by up to this fraction either way
  std::chrono::milliseconds retry_after_cap{std::chrono::hours(1)};

  static std::vector<std::chrono::milliseconds> default_schedule();
  int max_attempts() const { return static_cast<int>(schedule.size()); }
};

// What one attempt's outcome means for its delivery.
struct RetryDecision {
  DeliveryState state = DeliveryState::retrying;
  UnixMillis next_attempt_at_ms = 0;  // when state is retrying
  std::optional<std::string> disable_endpoint_reason;
};

struct AttemptResult {
  int attempt_number = 1;              // the attempt just made, from 1
  std::optional<int> status;           // absent on a transport error
  std::optional<std::chrono::milliseconds> retry_after;  // parsed Retry-After, if any
};

// Pure: `random_unit` in [0, 1) supplies the jitter.
RetryDecision decide_retry(const RetryPolicy& policy, const AttemptResult& result, UnixMillis now_ms,
                           double random_unit);

// Retry-After as delta-seconds or an HTTP date (IMF-fixdate), relative to now.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, UnixMillis now_ms);

}  // namespace ferry
