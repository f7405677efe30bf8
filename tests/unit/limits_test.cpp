// Pure limits: JSON nesting depth, token buckets, the API's per-token rate limit.
#include <gtest/gtest.h>

#include <string>

#include "api/api_rate_limiter.hpp"
#include "core/json_limits.hpp"
#include "core/token_bucket.hpp"

namespace ferry {
namespace {

std::string nested(std::size_t depth, char open = '[', char close = ']') {
  return std::string(depth, open) + std::string(depth, close);
}

TEST(JsonLimitsTest, CountsNestingOfArraysAndObjects) {
  EXPECT_FALSE(json_deeper_than("{}", 1));
  EXPECT_TRUE(json_deeper_than("[[]]", 1));
  EXPECT_FALSE(json_deeper_than(nested(kMaxJsonDepth), kMaxJsonDepth));
  EXPECT_TRUE(json_deeper_than(nested(kMaxJsonDepth + 1), kMaxJsonDepth));
  EXPECT_TRUE(json_deeper_than(R"({"a":{"b":[{"c":1}]}})", 3));
  EXPECT_FALSE(json_deeper_than(R"({"a":{"b":[{"c":1}]}})", 4));
  // Siblings do not add up.
  EXPECT_FALSE(json_deeper_than("[[],[],[],[],[]]", 2));
}

TEST(JsonLimitsTest, IgnoresBracketsInsideStrings) {
  EXPECT_FALSE(json_deeper_than(R"({"k":"[[[[[[[[[[{{{{{{"})", 1));
  // An escaped quote does not end the string; an escaped backslash does not escape the quote after it.
  EXPECT_FALSE(json_deeper_than(R"(["\"[[[[["])", 1));
  EXPECT_TRUE(json_deeper_than(R"(["\\",[[]]])", 2));
}

TEST(JsonLimitsTest, HandlesHugeDepthWithoutRecursion) {
  EXPECT_TRUE(json_deeper_than(nested(5'000'000), kMaxJsonDepth));
  EXPECT_TRUE(json_deeper_than(std::string(5'000'000, '{'), kMaxJsonDepth));
}

TEST(TokenBucketTest, StartsFullThenRefillsAtTheRate) {
  TokenBucket bucket;
  EXPECT_FALSE(bucket.used());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.take(5, 1000)) << i;
  EXPECT_FALSE(bucket.take(5, 1000));
  EXPECT_EQ(bucket.wait_ms(5, 1000), 200);  // one token per 200 ms
  EXPECT_FALSE(bucket.take(5, 1100));
  EXPECT_EQ(bucket.wait_ms(5, 1100), 100);
  EXPECT_TRUE(bucket.take(5, 1200));
  EXPECT_FALSE(bucket.full(5, 1200));
  EXPECT_TRUE(bucket.full(5, 2200));
  // Never more than one second's worth saved up.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.take(5, 100'000)) << i;
  EXPECT_FALSE(bucket.take(5, 100'000));
}

TEST(TokenBucketTest, ALoweredRateAppliesAtOnce) {
  TokenBucket bucket;
  EXPECT_TRUE(bucket.take(100, 1000));  // 99 left
  bucket.cap(1);
  EXPECT_TRUE(bucket.take(1, 1000));
  EXPECT_FALSE(bucket.take(1, 1000));
  bucket.reset();
  EXPECT_FALSE(bucket.used());
  EXPECT_TRUE(bucket.take(1, 1000));
}

TEST(ApiRateLimiterTest, LimitsEachKeyOnItsOwnAndTheAdminSeparately) {
  ApiRateLimiter limiter({/*per_key=*/2, /*admin=*/0});
  const Caller key_a{false, "ws1", "key_a"};
  const Caller key_b{false, "ws1", "key_b"};
  const Caller admin{true, "", ""};
  EXPECT_EQ(limiter.admit(key_a, 10'000), 0);
  EXPECT_EQ(limiter.admit(key_a, 10'000), 0);
  EXPECT_EQ(limiter.admit(key_a, 10'000), 500);  // refused: the next token in 500 ms
  EXPECT_EQ(limiter.admit(key_b, 10'000), 0);    // another key has its own bucket
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(limiter.admit(admin, 10'000), 0);  // 0: unlimited
  EXPECT_EQ(limiter.admit(key_a, 10'500), 0);
}

TEST(ApiRateLimiterTest, ForgetsIdleKeysButNotTheirDebt) {
  ApiRateLimiter limiter({/*per_key=*/1, /*admin=*/1});
  const Caller admin{true, "", ""};
  EXPECT_EQ(limiter.admit(admin, 1'000), 0);
  EXPECT_GT(limiter.admit(admin, 1'000), 0);
  // A sweep 60 s later only drops full buckets; this one is empty again.
  EXPECT_EQ(limiter.admit(admin, 61'000), 0);
  EXPECT_GT(limiter.admit(admin, 61'000), 0);
}

}  // namespace
}  // namespace ferry
