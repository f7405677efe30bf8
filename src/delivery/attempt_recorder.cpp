#include "delivery/attempt_recorder.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

namespace ferry {

namespace {
constexpr std::chrono::milliseconds kFirstRetryDelay{100};
constexpr std::chrono::milliseconds kLongestRetryDelay{5000};
// Each transaction rewrites the pages it touches (the right edge of every
// index of attempts and the deliveries' pages), however few records it
// holds; waiting this long for more makes those pages carry many records.
// Nothing waits on a record but its delivery's lease, which lasts minutes.
constexpr std::chrono::milliseconds kGatherFor{5};
constexpr std::size_t kEnoughToWrite = 512;
}  // namespace

AttemptRecorder::AttemptRecorder(Store& store, Callbacks callbacks) : store_(store), callbacks_(std::move(callbacks)) {}

AttemptRecorder::~AttemptRecorder() { stop(std::chrono::steady_clock::now()); }

void AttemptRecorder::start() {
  thread_ = std::thread([this] { run(); });
}

void AttemptRecorder::add(std::vector<AttemptRecord> records) {
  if (records.empty()) return;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    // The writer waits for a first record, then for kEnoughToWrite or the
    // end of kGatherFor: only those two moments are worth waking it for.
    const std::size_t before = queue_.size();
    if (before == 0) {
      queue_ = std::move(records);
    } else {
      std::move(records.begin(), records.end(), std::back_inserter(queue_));
    }
    wake = before == 0 || (before < kEnoughToWrite && queue_.size() >= kEnoughToWrite);
  }
  if (wake) wake_.notify_one();
}

std::size_t AttemptRecorder::unwritten() const {
  std::lock_guard lock(mutex_);
  return queue_.size() + writing_;
}

void AttemptRecorder::stop(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      deadline_ = deadline;
    }
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void AttemptRecorder::run() {
  std::vector<AttemptRecord> batch;
  auto retry_delay = kFirstRetryDelay;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (batch.empty()) {
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything is written
        wake_.wait_for(lock, kGatherFor, [this] { return stopping_ || queue_.size() >= kEnoughToWrite; });
      }
      // Whatever queued up meanwhile joins the batch (after a failure, too).
      std::move(queue_.begin(), queue_.end(), std::back_inserter(batch));
      queue_.clear();
      writing_ = batch.size();
    }
    auto written = store_.record_attempts(batch);
    if (written) {
      after_commit(batch);
      batch.clear();
      retry_delay = kFirstRetryDelay;
      std::lock_guard lock(mutex_);
      writing_ = 0;
      continue;
    }
    spdlog::error("recording {} attempts failed: {}", batch.size(), written.error().message);
    std::unique_lock lock(mutex_);
    const bool gave_up = wake_.wait_for(lock, retry_delay,
                                        [this] { return stopping_ && std::chrono::steady_clock::now() >= deadline_; });
    if (gave_up) {
      spdlog::warn("{} attempts were not recorded; their deliveries are attempted again once their leases expire",
                   batch.size() + queue_.size());
      writing_ = 0;
      queue_.clear();
      return;
    }
    retry_delay = std::min(retry_delay * 2, kLongestRetryDelay);
  }
}

void AttemptRecorder::after_commit(const std::vector<AttemptRecord>& written) {
  bool retries = false;
  for (const auto& record : written) {
    if (record.disable_endpoint_reason && callbacks_.endpoint_disabled) {
      callbacks_.endpoint_disabled(record.attempt.workspace_id);
    }
    retries = retries || record.new_state == DeliveryState::pending || record.new_state == DeliveryState::retrying;
  }
  if (retries && callbacks_.retries_scheduled) callbacks_.retries_scheduled();
}

}  // namespace ferry
