#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/clock.hpp"
#include "store/store.hpp"

namespace ferry {

struct StoreUpkeepConfig {
  std::chrono::milliseconds retention{std::chrono::hours(24 * 30)};
  std::chrono::milliseconds interval{std::chrono::minutes(1)};
  int batch_limit = 1000;
  // Pause between batches of one round, so that publishes waiting for the
  // writer go first.
  std::chrono::milliseconds batch_pause{20};
};

// Runs Store::maintain in the background: time partitions prepared ahead,
// data past the retention removed in bounded batches. Every node may run it;
// the store makes concurrent rounds harmless.
class StoreUpkeep {
 public:
  StoreUpkeep(Store& store, const Clock& clock, StoreUpkeepConfig config);
  ~StoreUpkeep();
  StoreUpkeep(const StoreUpkeep&) = delete;
  StoreUpkeep& operator=(const StoreUpkeep&) = delete;

  void start();
  void stop();

  // One whole round now, on the caller's thread (at start and in tests).
  Status run_round();

 private:
  void run();
  bool wait_for(std::chrono::milliseconds delay);  // false when stopping

  Store& store_;
  const Clock& clock_;
  StoreUpkeepConfig config_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ferry
