#include "core/retry_policy.hpp"

#include <gtest/gtest.h>

namespace ferry {
namespace {

using namespace std::chrono_literals;

constexpr UnixMillis kNow = 1'700'000'000'000;

TEST(RetryPolicy, DefaultScheduleIsTheDesigns) {
  RetryPolicy policy;
  const std::vector<std::chrono::milliseconds> expected = {0s, 5s, 5min, 30min, 2h, 5h, 10h, 10h};
  EXPECT_EQ(policy.schedule, expected);
  EXPECT_EQ(policy.max_attempts(), 8);
}

TEST(RetryPolicy, SuccessIsAny2xx) {
  RetryPolicy policy;
  for (int status : {200, 201, 204, 299}) {
    EXPECT_EQ(decide_retry(policy, {1, status, {}}, kNow, 0.5).state, DeliveryState::succeeded);
  }
  EXPECT_EQ(decide_retry(policy, {1, 300, {}}, kNow, 0.5).state, DeliveryState::retrying);
}

TEST(RetryPolicy, FollowsTheScheduleWithJitterAndTimeFactor) {
  RetryPolicy policy;
  // Attempt 1 failed: attempt 2 comes 5 s later, +-20 %.
  EXPECT_EQ(decide_retry(policy, {1, 500, {}}, kNow, 0.5).next_attempt_at_ms, kNow + 5000);
  EXPECT_EQ(decide_retry(policy, {1, 500, {}}, kNow, 0.0).next_attempt_at_ms, kNow + 4000);
  EXPECT_NEAR(static_cast<double>(decide_retry(policy, {1, 500, {}}, kNow, 0.999999).next_attempt_at_ms - kNow), 6000, 1);
  EXPECT_EQ(decide_retry(policy, {2, std::nullopt, {}}, kNow, 0.5).next_attempt_at_ms, kNow + 300'000);
  policy.time_factor = 0.001;
  EXPECT_EQ(decide_retry(policy, {3, 503, {}}, kNow, 0.5).next_attempt_at_ms, kNow + 1800);
}

TEST(RetryPolicy, GivesUpAfterTheLastAttempt) {
  RetryPolicy policy;
  EXPECT_EQ(decide_retry(policy, {7, 500, {}}, kNow, 0.5).state, DeliveryState::retrying);
  EXPECT_EQ(decide_retry(policy, {8, 500, {}}, kNow, 0.5).state, DeliveryState::failed);
  policy.schedule = {0s};
  EXPECT_EQ(decide_retry(policy, {1, 500, {}}, kNow, 0.5).state, DeliveryState::failed);
}

TEST(RetryPolicy, GoneDisablesTheEndpoint) {
  RetryPolicy policy;
  const auto decision = decide_retry(policy, {1, 410, {}}, kNow, 0.5);
  EXPECT_EQ(decision.state, DeliveryState::failed);
  ASSERT_TRUE(decision.disable_endpoint_reason.has_value());
}

TEST(RetryPolicy, RetryAfterIsHonouredOn429And503UpToTheCap) {
  RetryPolicy policy;
  policy.time_factor = 0.001;  // Retry-After is the receiver's word: not scaled
  EXPECT_EQ(decide_retry(policy, {1, 429, 30s}, kNow, 0.5).next_attempt_at_ms, kNow + 30'000);
  EXPECT_EQ(decide_retry(policy, {1, 503, 2h}, kNow, 0.5).next_attempt_at_ms, kNow + 3'600'000);
  // Other statuses ignore it.
  EXPECT_EQ(decide_retry(policy, {1, 500, 30s}, kNow, 0.5).next_attempt_at_ms, kNow + 5);
  // The last attempt stays the last.
  EXPECT_EQ(decide_retry(policy, {8, 429, 1s}, kNow, 0.5).state, DeliveryState::failed);
}

TEST(RetryAfter, ParsesSecondsAndHttpDates) {
  EXPECT_EQ(parse_retry_after("120", kNow), 120s);
  EXPECT_EQ(parse_retry_after(" 0 ", kNow), 0s);
  EXPECT_FALSE(parse_retry_after("-1", kNow).has_value());
  EXPECT_FALSE(parse_retry_after("soon", kNow).has_value());
  // 1700000000 = Tue, 14 Nov 2023 22:13:20 GMT
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", kNow), 30s);
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", kNow), 0s);
}

}  // namespace
}  // namespace ferry
