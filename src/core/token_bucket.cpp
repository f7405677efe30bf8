#include "core/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace ferry {

double TokenBucket::level(double rate, UnixMillis now_ms) const {
  if (filled_at_ms_ == 0) return rate;
  const auto elapsed = static_cast<double>(std::max<UnixMillis>(0, now_ms - filled_at_ms_));
  return std::min(rate, tokens_ + rate * elapsed / 1000.0);
}

bool TokenBucket::take(double rate, UnixMillis now_ms) {
  tokens_ = level(rate, now_ms);
  filled_at_ms_ = now_ms;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

UnixMillis TokenBucket::wait_ms(double rate, UnixMillis now_ms) const {
  const double tokens = level(rate, now_ms);
  if (tokens >= 1.0 || rate <= 0) return 0;
  return static_cast<UnixMillis>(std::ceil((1.0 - tokens) * 1000.0 / rate));
}

void TokenBucket::cap(double rate) { tokens_ = std::min(tokens_, rate); }

bool TokenBucket::full(double rate, UnixMillis now_ms) const { return level(rate, now_ms) >= rate; }

}  // namespace ferry
