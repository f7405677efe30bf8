#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "core/result.hpp"
#include "core/subscription_index.hpp"
#include "store/store.hpp"

namespace ferry {

// Reloads one workspace's endpoints (every page) into the index; a workspace
// that no longer exists is dropped from it.
Status reload_workspace_subscriptions(Store& store, SubscriptionIndex& index, const std::string& workspace_id);
// Rebuilds the whole index from every endpoint in the store.
Status reload_all_subscriptions(Store& store, SubscriptionIndex& index);

// After this process changed (created, updated or deleted) one endpoint in
// the store: reads that endpoint back and applies it to the index, without
// reading the workspace's other endpoints. Call once the store's write
// returned, so the read (and its ticket) come after the commit; see
// SubscriptionIndex::reload_ticket for why no lock around the write is
// needed. Falls back to reloading the workspace when the index cannot take
// the change on its own.
Status refresh_endpoint_subscription(Store& store, SubscriptionIndex& index, const std::string& workspace_id,
                                     const std::string& endpoint_id);
// Likewise after a change to the workspace's settings.
Status refresh_workspace_settings(Store& store, SubscriptionIndex& index, const std::string& workspace_id);

// Keeps the subscription index (and, through `reload_catalogs`, the
// catalogs) in step with changes that arrive from elsewhere: another node
// sharing the database, or a delivery outcome that disabled an endpoint.
// Requests are cheap and never block on the store; a thread of its own does
// the reloading, coalescing repeated requests.
class SubscriptionSync {
 public:
  SubscriptionSync(Store& store, SubscriptionIndex& index, std::function<Status()> reload_catalogs = {});
  ~SubscriptionSync();
  SubscriptionSync(const SubscriptionSync&) = delete;
  SubscriptionSync& operator=(const SubscriptionSync&) = delete;

  void start();
  void stop();

  // Safe from any thread, including a store's watcher.
  void workspace_changed(const std::string& workspace_id);
  void catalogs_changed();
  void everything_changed();  // catalogs included

 private:
  void run();

  Store& store_;
  SubscriptionIndex& index_;
  std::function<Status()> reload_catalogs_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::set<std::string> pending_workspaces_;
  bool pending_all_ = false;
  bool pending_catalogs_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ferry
