#include "api/api_rate_limiter.hpp"

namespace ferry {

namespace {
// Full buckets are forgotten this often, so memory follows the keys in use,
// not every key ever seen.
constexpr UnixMillis kSweepEveryMs = 60'000;
}  // namespace

double ApiRateLimiter::rate_for(const std::string& bucket_key) const {
  return bucket_key.empty() ? limits_.admin : limits_.per_key;
}

UnixMillis ApiRateLimiter::admit(const Caller& caller, UnixMillis now_ms) {
  const std::string& bucket_key = caller.admin ? std::string() : caller.key_id;
  const double rate = rate_for(bucket_key);
  if (rate <= 0) return 0;
  std::lock_guard lock(mutex_);
  if (now_ms - swept_at_ms_ >= kSweepEveryMs) {
    std::erase_if(buckets_, [&](const auto& entry) { return entry.second.full(rate_for(entry.first), now_ms); });
    swept_at_ms_ = now_ms;
  }
  TokenBucket& bucket = buckets_[bucket_key];
  if (bucket.take(rate, now_ms)) return 0;
  return bucket.wait_ms(rate, now_ms);
}

}  // namespace ferry
