#pragma once

#include "core/clock.hpp"

namespace ferry {

// A rate limit as a token bucket holding up to one second's worth of tokens:
// bursts of `rate` at once, `rate` per second on average. Starts full. The
// rate is passed on every call, so a changed limit applies at once. Not
// thread-safe; pure (the caller gives the time).
class TokenBucket {
 public:
  // Takes a token if one is there at `now_ms`.
  bool take(double rate, UnixMillis now_ms);
  // Milliseconds from `now_ms` until take() would succeed (0: now).
  UnixMillis wait_ms(double rate, UnixMillis now_ms) const;
  // A lowered rate applies at once, not after the tokens saved at the old one are spent.
  void cap(double rate);
  // Full again, as if never used.
  void reset() { filled_at_ms_ = 0; }
  // Whether take() was ever called since the start or the last reset().
  bool used() const { return filled_at_ms_ != 0; }
  // Whether, at `now_ms`, the bucket has filled up again: forgetting it changes nothing.
  bool full(double rate, UnixMillis now_ms) const;

 private:
  double level(double rate, UnixMillis now_ms) const;

  double tokens_ = 0;
  UnixMillis filled_at_ms_ = 0;  // 0: never used, full
};

}  // namespace ferry
