#pragma once

#include <chrono>
#include <cstdint>

namespace ferry {

// Milliseconds since the Unix epoch: the one time representation stored and
// passed between components.
using UnixMillis = std::int64_t;

// The seam through which everything reads the time, so tests can drive it.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixMillis now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  UnixMillis now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that only moves when told; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixMillis start) : now_(start) {}
  UnixMillis now_ms() const override { return now_; }
  void advance_ms(UnixMillis delta) { now_ += delta; }
  void set_ms(UnixMillis value) { now_ = value; }

 private:
  UnixMillis now_;
};

}  // namespace ferry
