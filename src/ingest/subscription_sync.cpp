#include "ingest/subscription_sync.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>
#include <vector>

namespace ferry {

namespace {
// After a failed reload (the database is away), try again this much later.
constexpr std::chrono::milliseconds kRetryDelay{500};
}  // namespace

Status reload_workspace_subscriptions(Store& store, SubscriptionIndex& index, const std::string& workspace_id) {
  std::vector<Endpoint> endpoints;
  PageRequest page;
  page.limit = 1000;
  while (true) {
    auto listed = store.list_endpoints(workspace_id, page);
    if (!listed) {
      if (listed.error().code == ErrorCode::not_found) {
        index.remove_workspace(workspace_id);
        return {};
      }
      return listed.error();
    }
    for (auto& endpoint : listed->items) endpoints.push_back(std::move(endpoint));
    if (!listed->next_cursor) break;
    page.cursor = *listed->next_cursor;
  }
  index.replace_workspace(workspace_id, endpoints);
  return {};
}

Status reload_all_subscriptions(Store& store, SubscriptionIndex& index) {
  auto endpoints = store.list_all_endpoints();
  if (!endpoints) return endpoints.error();
  index.replace_all(*endpoints);
  return {};
}

SubscriptionSync::SubscriptionSync(Store& store, SubscriptionIndex& index) : store_(store), index_(index) {}

SubscriptionSync::~SubscriptionSync() { stop(); }

void SubscriptionSync::start() { thread_ = std::thread([this] { run(); }); }

void SubscriptionSync::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void SubscriptionSync::workspace_changed(const std::string& workspace_id) {
  {
    std::lock_guard lock(mutex_);
    pending_workspaces_.insert(workspace_id);
  }
  wake_.notify_one();
}

void SubscriptionSync::everything_changed() {
  {
    std::lock_guard lock(mutex_);
    pending_all_ = true;
  }
  wake_.notify_one();
}

void SubscriptionSync::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || pending_all_ || !pending_workspaces_.empty(); });
    if (stopping_) return;
    const bool all = std::exchange(pending_all_, false);
    auto workspaces = std::exchange(pending_workspaces_, {});
    lock.unlock();

    bool failed = false;
    if (all) {
      if (auto reloaded = reload_all_subscriptions(store_, index_); !reloaded) {
        spdlog::warn("could not reload subscriptions: {}", reloaded.error().message);
        failed = true;
      }
    } else {
      for (const auto& workspace_id : workspaces) {
        if (auto reloaded = reload_workspace_subscriptions(store_, index_, workspace_id); !reloaded) {
          spdlog::warn("could not reload subscriptions of {}: {}", workspace_id, reloaded.error().message);
          failed = true;
        }
      }
    }

    lock.lock();
    if (failed) {
      // Keep the request and try again shortly, unless stopping.
      if (all) pending_all_ = true;
      else pending_workspaces_.insert(workspaces.begin(), workspaces.end());
      wake_.wait_for(lock, kRetryDelay, [this] { return stopping_; });
      if (stopping_) return;
    }
  }
}

}  // namespace ferry
