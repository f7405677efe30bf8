#include "store/store_upkeep.hpp"

#include <spdlog/spdlog.h>

namespace ferry {

StoreUpkeep::StoreUpkeep(Store& store, const Clock& clock, StoreUpkeepConfig config)
    : store_(store), clock_(clock), config_(config) {}

StoreUpkeep::~StoreUpkeep() { stop(); }

void StoreUpkeep::start() { thread_ = std::thread([this] { run(); }); }

void StoreUpkeep::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

bool StoreUpkeep::wait_for(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [this] { return stopping_; });
}

Status StoreUpkeep::run_round() {
  std::int64_t messages = 0;
  std::int64_t partitions = 0;
  while (true) {
    const UnixMillis now = clock_.now_ms();
    auto report = store_.maintain(now, now - config_.retention.count(), config_.batch_limit);
    if (!report) return report.error();
    messages += report->messages_deleted;
    partitions += report->partitions_dropped;
    if (!report->more) break;
    if (!wait_for(config_.batch_pause)) break;
  }
  if (messages > 0 || partitions > 0) {
    spdlog::info("retention: removed {} messages and {} partitions older than {} days", messages, partitions,
                 std::chrono::duration_cast<std::chrono::hours>(config_.retention).count() / 24);
  }
  return {};
}

void StoreUpkeep::run() {
  do {
    if (auto done = run_round(); !done) spdlog::warn("store upkeep failed: {}", done.error().message);
  } while (wait_for(config_.interval));
}

}  // namespace ferry
