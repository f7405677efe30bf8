#include "core/retry_policy.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

namespace ferry {

using std::chrono::milliseconds;

std::vector<milliseconds> RetryPolicy::default_schedule() {
  using namespace std::chrono;
  return {milliseconds(0), seconds(5), minutes(5), minutes(30), hours(2), hours(5), hours(10), hours(10)};
}

RetryDecision decide_retry(const RetryPolicy& policy, const AttemptResult& result, UnixMillis now_ms,
                           double random_unit) {
  RetryDecision decision;
  if (result.status && *result.status >= 200 && *result.status < 300) {
    decision.state = DeliveryState::succeeded;
    return decision;
  }
  if (result.status == 410) {
    decision.state = DeliveryState::failed;
    decision.disable_endpoint_reason = "endpoint answered 410 Gone";
    return decision;
  }
  if (result.attempt_number >= policy.max_attempts()) {
    decision.state = DeliveryState::failed;
    return decision;
  }
  decision.state = DeliveryState::retrying;
  const bool honours_retry_after = result.retry_after && (result.status == 429 || result.status == 503);
  if (honours_retry_after) {
    // The receiver's own word, in real seconds: not scaled, not jittered, only capped.
    decision.next_attempt_at_ms = now_ms + std::min(*result.retry_after, policy.retry_after_cap).count();
    return decision;
  }
  const auto scheduled = static_cast<double>(policy.schedule[static_cast<std::size_t>(result.attempt_number)].count());
  const double spread = 1.0 + policy.jitter * (2.0 * random_unit - 1.0);
  decision.next_attempt_at_ms = now_ms + std::llround(scheduled * policy.time_factor * spread);
  return decision;
}

namespace {

std::optional<int> month_index(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (kMonths[i] == name) return static_cast<int>(i) + 1;
  }
  return std::nullopt;
}

std::optional<int> to_int(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<milliseconds> parse_retry_after(std::string_view value, UnixMillis now_ms) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (auto seconds = to_int(value)) {
    if (*seconds < 0) return std::nullopt;
    return milliseconds(static_cast<std::int64_t>(*seconds) * 1000);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (value.size() != 29 || value.substr(25) != " GMT") return std::nullopt;
  auto day = to_int(value.substr(5, 2));
  auto month = month_index(value.substr(8, 3));
  auto year = to_int(value.substr(12, 4));
  auto hour = to_int(value.substr(17, 2));
  auto minute = to_int(value.substr(20, 2));
  auto second = to_int(value.substr(23, 2));
  if (!day || !month || !year || !hour || !minute || !second) return std::nullopt;
  using namespace std::chrono;
  const year_month_day date{std::chrono::year(*year), std::chrono::month(static_cast<unsigned>(*month)),
                            std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  const auto at = sys_days(date) + hours(*hour) + minutes(*minute) + seconds(*second);
  const auto delta = duration_cast<milliseconds>(at.time_since_epoch()).count() - now_ms;
  return milliseconds(std::max<std::int64_t>(0, delta));
}

}  // namespace ferry
