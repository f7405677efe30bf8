#include "ingest/subscription_sync.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

namespace ferry {

namespace {
// After a failed reload (the database is away), try again this much later.
constexpr std::chrono::milliseconds kRetryDelay{500};

// The workspace as the store has it; one that is gone is dropped from the
// index (under `ticket`, taken before this read) and comes back empty.
Result<std::optional<Workspace>> read_workspace(Store& store, SubscriptionIndex& index, const std::string& workspace_id,
                                                std::uint64_t ticket) {
  auto workspace = store.get_workspace(workspace_id);
  if (workspace) return std::optional<Workspace>(std::move(*workspace));
  if (workspace.error().code != ErrorCode::not_found) return workspace.error();
  index.remove_workspace(workspace_id, ticket);
  return std::optional<Workspace>();
}

}  // namespace

Status reload_workspace_subscriptions(Store& store, SubscriptionIndex& index, const std::string& workspace_id) {
  const auto ticket = index.reload_ticket();  // before reading: see SubscriptionIndex::reload_ticket
  auto workspace = read_workspace(store, index, workspace_id, ticket);
  if (!workspace) return workspace.error();
  if (!*workspace) return {};
  std::vector<Endpoint> endpoints;
  PageRequest page;
  page.limit = 1000;
  while (true) {
    auto listed = store.list_endpoints(workspace_id, page);
    if (!listed) {
      if (listed.error().code == ErrorCode::not_found) {
        index.remove_workspace(workspace_id, ticket);
        return {};
      }
      return listed.error();
    }
    for (auto& endpoint : listed->items) endpoints.push_back(std::move(endpoint));
    if (!listed->next_cursor) break;
    page.cursor = *listed->next_cursor;
  }
  index.replace_workspace(**workspace, endpoints, ticket);
  return {};
}

Status reload_all_subscriptions(Store& store, SubscriptionIndex& index) {
  const auto ticket = index.reload_ticket();
  std::vector<Workspace> workspaces;
  PageRequest page;
  page.limit = 1000;
  while (true) {
    auto listed = store.list_workspaces(page);
    if (!listed) return listed.error();
    for (auto& workspace : listed->items) workspaces.push_back(std::move(workspace));
    if (!listed->next_cursor) break;
    page.cursor = *listed->next_cursor;
  }
  auto endpoints = store.list_all_endpoints();
  if (!endpoints) return endpoints.error();
  index.replace_all(workspaces, *endpoints, ticket);
  return {};
}

Status refresh_endpoint_subscription(Store& store, SubscriptionIndex& index, const std::string& workspace_id,
                                     const std::string& endpoint_id) {
  // Read back rather than apply what was written: the read's ticket orders
  // it against every other read feeding the index (another API thread's
  // change of the same endpoint, a reload after another node's change),
  // which the value this thread wrote could not be.
  const auto ticket = index.reload_ticket();
  auto endpoint = store.get_endpoint(workspace_id, endpoint_id);
  IndexUpdate update = IndexUpdate::done;
  if (endpoint) {
    update = index.apply_endpoint(*endpoint, ticket);
  } else if (endpoint.error().code == ErrorCode::not_found) {
    update = index.remove_endpoint(workspace_id, endpoint_id, ticket);
  } else {
    return endpoint.error();
  }
  if (update == IndexUpdate::reload_workspace) return reload_workspace_subscriptions(store, index, workspace_id);
  return {};
}

Status refresh_workspace_settings(Store& store, SubscriptionIndex& index, const std::string& workspace_id) {
  const auto ticket = index.reload_ticket();
  auto workspace = read_workspace(store, index, workspace_id, ticket);
  if (!workspace) return workspace.error();
  if (!*workspace) return {};
  if (index.apply_settings(**workspace, ticket) == IndexUpdate::reload_workspace) {
    return reload_workspace_subscriptions(store, index, workspace_id);
  }
  return {};
}

SubscriptionSync::SubscriptionSync(Store& store, SubscriptionIndex& index, std::function<Status()> reload_catalogs)
    : store_(store), index_(index), reload_catalogs_(std::move(reload_catalogs)) {}

SubscriptionSync::~SubscriptionSync() { stop(); }

void SubscriptionSync::start() {
  thread_ = std::thread([this] { run(); });
}

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

void SubscriptionSync::catalogs_changed() {
  {
    std::lock_guard lock(mutex_);
    pending_catalogs_ = true;
  }
  wake_.notify_one();
}

void SubscriptionSync::everything_changed() {
  {
    std::lock_guard lock(mutex_);
    pending_all_ = true;
    pending_catalogs_ = true;
  }
  wake_.notify_one();
}

void SubscriptionSync::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || pending_all_ || pending_catalogs_ || !pending_workspaces_.empty(); });
    if (stopping_) return;
    const bool all = std::exchange(pending_all_, false);
    const bool catalogs = std::exchange(pending_catalogs_, false);
    auto workspaces = std::exchange(pending_workspaces_, {});
    lock.unlock();

    bool failed = false;  // reloading subscriptions
    bool catalogs_failed = false;
    if (catalogs && reload_catalogs_) {
      if (auto reloaded = reload_catalogs_(); !reloaded) {
        spdlog::warn("could not reload catalogs: {}", reloaded.error().message);
        catalogs_failed = true;
      }
    }
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
    if (failed || catalogs_failed) {
      // Keep the request and try again shortly, unless stopping.
      if (failed && all) pending_all_ = true;
      if (failed && !all) pending_workspaces_.insert(workspaces.begin(), workspaces.end());
      if (catalogs_failed) pending_catalogs_ = true;
      wake_.wait_for(lock, kRetryDelay, [this] { return stopping_; });
      if (stopping_) return;
    }
  }
}

}  // namespace ferry
