#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace ferry {

// Writes attempt outcomes to the store on its own thread, so that the
// scheduler goes on sending while a transaction is flushed to disk.
//
// Group commit: every record queued while one transaction is being written
// goes into the next one, so many outcomes share one disk flush. A delivery
// stays leased until its record is committed, so nothing can claim it again
// in between. A failed write is retried, with back-off, until it succeeds or
// stop()'s deadline passes; the leases keep those deliveries reserved.
class AttemptRecorder {
 public:
  struct Callbacks {
    // After a committed record disabled an endpoint (e.g. on 410 Gone).
    std::function<void(const std::string& workspace_id)> endpoint_disabled;
    // After a committed batch left some delivery due again (a retry).
    std::function<void()> retries_scheduled;
  };

  AttemptRecorder(Store& store, Callbacks callbacks);
  ~AttemptRecorder();
  AttemptRecorder(const AttemptRecorder&) = delete;
  AttemptRecorder& operator=(const AttemptRecorder&) = delete;

  void start();
  // Queues records. Safe from any thread.
  void add(std::vector<AttemptRecord> records);
  // Records queued or being written: they hold memory (response bodies), so
  // the scheduler counts them against its in-flight budget.
  std::size_t unwritten() const;
  // Writes everything queued, retrying failures until `deadline`, then stops.
  // Records still unwritten then are dropped: their deliveries stay leased
  // until the lease expires and are attempted again. Idempotent.
  void stop(std::chrono::steady_clock::time_point deadline);

 private:
  void run();
  void after_commit(const std::vector<AttemptRecord>& written);

  Store& store_;
  Callbacks callbacks_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<AttemptRecord> queue_;
  std::size_t writing_ = 0;  // records taken from queue_ and not yet committed
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_;
  std::thread thread_;
};

}  // namespace ferry
