#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

#include "api/router.hpp"
#include "core/token_bucket.hpp"

namespace ferry {

// Requests per second each caller may make to the API, as token buckets
// (bursts of one second's worth). Shared by the API's worker threads.
class ApiRateLimiter {
 public:
  struct Limits {
    double per_key = 0;  // each workspace API key; 0: unlimited
    double admin = 0;    // the admin token; 0: unlimited
  };

  explicit ApiRateLimiter(Limits limits) : limits_(limits) {}

  // 0 when the caller's request may go ahead now; otherwise it is refused,
  // and this many milliseconds pass before one would be let through.
  UnixMillis admit(const Caller& caller, UnixMillis now_ms);

 private:
  double rate_for(const std::string& bucket_key) const;

  const Limits limits_;
  std::mutex mutex_;
  // By API key id; the admin token's bucket under "".
  std::unordered_map<std::string, TokenBucket> buckets_;
  UnixMillis swept_at_ms_ = 0;
};

}  // namespace ferry
