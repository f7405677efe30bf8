#include "core/subscription_index.hpp"

#include <algorithm>
#include <utility>

namespace ferry {

namespace {

// A full reload collects the per-endpoint tickets of the changes it
// supersedes; until one comes, every endpoint changed (or deleted) keeps
// one. Past this many beyond the workspace's size, a change asks for a
// reload, so the history stays proportional to the workspace and the
// reloads it costs are spread over at least as many changes.
constexpr std::size_t kMaxChangesBeyondSize = 1024;

std::vector<SubscribedEndpoint> subscribed_of(std::span<const Endpoint> endpoints) {
  std::vector<SubscribedEndpoint> subscribed;
  subscribed.reserve(endpoints.size());
  for (const auto& endpoint : endpoints) {
    if (endpoint.enabled) subscribed.push_back({endpoint.id, endpoint.filter_types});
  }
  return subscribed;
}

bool by_id(const SubscribedEndpoint& a, const SubscribedEndpoint& b) { return a.id < b.id; }

// Where endpoint `id` is, or would go, in subscriptions sorted by id.
template <class Subscribed>
auto position_of(Subscribed& subscribed, std::string_view id) {
  return std::lower_bound(subscribed.begin(), subscribed.end(), id,
                          [](const SubscribedEndpoint& a, std::string_view b) { return std::string_view(a.id) < b; });
}

}  // namespace

WorkspaceSubscriptions::WorkspaceSubscriptions(Workspace workspace, std::span<const Endpoint> endpoints)
    : WorkspaceSubscriptions(std::move(workspace), subscribed_of(endpoints)) {}

WorkspaceSubscriptions::WorkspaceSubscriptions(Workspace workspace, std::vector<SubscribedEndpoint> subscribed)
    : subscribed_(std::move(subscribed)), workspace_(std::move(workspace)) {
  // Sorted by id, whether built by a reload (the store lists endpoints by
  // id, so this is one pass) or from a previous snapshot with one endpoint
  // changed: both ways give the same snapshot, and one endpoint is found by
  // binary search.
  if (!std::is_sorted(subscribed_.begin(), subscribed_.end(), by_id)) {
    std::stable_sort(subscribed_.begin(), subscribed_.end(), by_id);
  }
  subscribed_.erase(std::unique(subscribed_.begin(), subscribed_.end(),
                                [](const SubscribedEndpoint& a, const SubscribedEndpoint& b) { return a.id == b.id; }),
                    subscribed_.end());
  build_maps();
}

void WorkspaceSubscriptions::build_maps() {
  for (std::size_t index = 0; index < subscribed_.size(); ++index) {
    const auto& filter = subscribed_[index].filter_types;
    if (filter.empty()) {
      everything_.push_back(index);
      continue;
    }
    for (const auto& pattern : filter) {
      if (pattern == "*") {
        everything_.push_back(index);
      } else if (pattern.ends_with(".*")) {
        prefix_[pattern.substr(0, pattern.size() - 1)].push_back(index);
      } else {
        exact_[pattern].push_back(index);
      }
    }
  }
}

std::vector<std::string> WorkspaceSubscriptions::endpoints_for(std::string_view type) const {
  std::vector<std::size_t> matched = everything_;
  if (auto it = exact_.find(std::string(type)); it != exact_.end()) {
    matched.insert(matched.end(), it->second.begin(), it->second.end());
  }
  if (!prefix_.empty()) {
    // Every dotted prefix of the type: "a.b.c" -> "a.", "a.b.".
    for (std::size_t dot = type.find('.'); dot != std::string_view::npos; dot = type.find('.', dot + 1)) {
      if (auto it = prefix_.find(std::string(type.substr(0, dot + 1))); it != prefix_.end()) {
        matched.insert(matched.end(), it->second.begin(), it->second.end());
      }
    }
  }
  std::sort(matched.begin(), matched.end());
  matched.erase(std::unique(matched.begin(), matched.end()), matched.end());
  std::vector<std::string> ids;
  ids.reserve(matched.size());
  for (std::size_t index : matched) ids.push_back(subscribed_[index].id);
  return ids;
}

const SubscribedEndpoint* WorkspaceSubscriptions::find(std::string_view id) const {
  auto it = position_of(subscribed_, id);
  return it != subscribed_.end() && it->id == id ? &*it : nullptr;
}

std::shared_ptr<const WorkspaceSubscriptions> SubscriptionIndex::workspace(std::string_view workspace_id) const {
  std::shared_ptr<const Map> map;
  {
    std::lock_guard lock(mutex_);
    map = map_;
  }
  auto it = map->find(std::string(workspace_id));
  return it == map->end() ? nullptr : it->second;
}

std::uint64_t SubscriptionIndex::reload_ticket() { return last_ticket_.fetch_add(1) + 1; }

bool SubscriptionIndex::is_stale(const std::string& workspace_id, std::uint64_t ticket) const {
  if (ticket == 0) return false;
  if (ticket < all_applied_) return true;
  auto it = applied_.find(workspace_id);
  return it != applied_.end() && ticket < it->second;
}

SubscriptionIndex::Entry SubscriptionIndex::current(const std::string& workspace_id) const {
  // map_ changes only under write_mutex_, which the caller holds.
  auto it = map_->find(workspace_id);
  return it == map_->end() ? nullptr : it->second;
}

void SubscriptionIndex::set_entry(const std::string& workspace_id, Entry entry) {
  auto next = std::make_shared<Map>(*map_);
  if (entry) {
    (*next)[workspace_id] = std::move(entry);
  } else {
    next->erase(workspace_id);
  }
  std::lock_guard lock(mutex_);
  map_ = std::move(next);
}

SubscriptionIndex::Entry SubscriptionIndex::merge_newer_changes(const std::string& workspace_id, Entry fresh,
                                                                const Entry& current, std::uint64_t ticket) {
  auto found = changes_.find(workspace_id);
  if (found == changes_.end()) return fresh;
  if (ticket == 0 || current == nullptr) {
    // "Regardless" wins over every change; and changes are only kept while
    // the workspace has an entry, so without one there is nothing to keep.
    changes_.erase(found);
    return fresh;
  }
  Changes& changes = found->second;
  // Endpoints changed after this reload's read began: the change, not the
  // read, is the newer word on them. Older changes the read includes.
  std::unordered_map<std::string, const SubscribedEndpoint*> newer;  // null: not subscribed (disabled or deleted)
  for (auto it = changes.endpoints.begin(); it != changes.endpoints.end();) {
    if (it->second > ticket) {
      newer.emplace(it->first, current->find(it->first));
      ++it;
    } else {
      it = changes.endpoints.erase(it);
    }
  }
  const bool newer_settings = changes.settings > ticket;
  if (!newer_settings) changes.settings = 0;
  if (changes.endpoints.empty() && changes.settings == 0) changes_.erase(found);
  if (newer.empty() && !newer_settings) return fresh;

  std::vector<SubscribedEndpoint> subscribed = fresh->subscribed();
  std::erase_if(subscribed, [&](const SubscribedEndpoint& endpoint) { return newer.contains(endpoint.id); });
  for (const auto& [id, now] : newer) {
    if (now != nullptr) subscribed.push_back(*now);
  }
  return std::make_shared<const WorkspaceSubscriptions>(newer_settings ? current->workspace() : fresh->workspace(),
                                                        std::move(subscribed));
}

void SubscriptionIndex::replace_workspace(const Workspace& workspace, std::span<const Endpoint> endpoints,
                                          std::uint64_t ticket) {
  // Built before taking the lock: changes to the index wait only when
  // newer incremental changes have to be laid over it.
  auto fresh = std::make_shared<const WorkspaceSubscriptions>(workspace, endpoints);
  std::lock_guard write(write_mutex_);
  if (is_stale(workspace.id, ticket)) return;
  if (ticket != 0) applied_[workspace.id] = ticket;
  set_entry(workspace.id, merge_newer_changes(workspace.id, std::move(fresh), current(workspace.id), ticket));
}

void SubscriptionIndex::remove_workspace(const std::string& workspace_id, std::uint64_t ticket) {
  std::lock_guard write(write_mutex_);
  if (is_stale(workspace_id, ticket)) return;
  if (ticket != 0) applied_[workspace_id] = ticket;
  // A read found the workspace gone; an incremental change of it since
  // cannot bring it back: a workspace made again afterwards is reloaded in
  // full by whoever made it, under a newer ticket.
  changes_.erase(workspace_id);
  set_entry(workspace_id, nullptr);
}

void SubscriptionIndex::replace_all(std::span<const Workspace> workspaces, std::span<const Endpoint> endpoints,
                                    std::uint64_t ticket) {
  std::unordered_map<std::string, std::vector<Endpoint>> by_workspace;
  for (const auto& endpoint : endpoints) by_workspace[endpoint.workspace_id].push_back(endpoint);
  auto next = std::make_shared<Map>();
  for (const auto& workspace : workspaces) {
    (*next)[workspace.id] = std::make_shared<const WorkspaceSubscriptions>(workspace, by_workspace[workspace.id]);
  }
  std::lock_guard write(write_mutex_);
  if (ticket != 0 && ticket < all_applied_) return;
  // Workspaces reloaded (or removed) by a newer ticket keep what that reload found.
  for (auto it = applied_.begin(); it != applied_.end();) {
    if (ticket != 0 && it->second > ticket) {
      if (auto kept = current(it->first)) {
        (*next)[it->first] = std::move(kept);
      } else {
        next->erase(it->first);
      }
      ++it;
    } else {
      it = applied_.erase(it);  // superseded by this rebuild
    }
  }
  // The others keep their newer incremental changes; what changes
  // remembered of workspaces this read found gone goes with them (see
  // remove_workspace).
  for (auto it = changes_.begin(); it != changes_.end();) {
    const std::string workspace_id = (it++)->first;  // merge_newer_changes may erase the item
    auto entry = next->find(workspace_id);
    if (entry == next->end()) {
      changes_.erase(workspace_id);
    } else if (!applied_.contains(workspace_id)) {
      entry->second = merge_newer_changes(workspace_id, std::move(entry->second), current(workspace_id), ticket);
    }
  }
  if (ticket != 0) all_applied_ = ticket;
  std::lock_guard lock(mutex_);
  map_ = std::move(next);
}

IndexUpdate SubscriptionIndex::change_endpoint(const std::string& workspace_id, const std::string& endpoint_id,
                                               const SubscribedEndpoint* now, std::uint64_t ticket) {
  std::lock_guard write(write_mutex_);
  const Entry entry = current(workspace_id);
  if (entry == nullptr) return IndexUpdate::reload_workspace;  // nothing to change: the reload reads it all
  if (is_stale(workspace_id, ticket)) return IndexUpdate::done;
  Changes* changes = nullptr;
  if (ticket != 0) {
    changes = &changes_[workspace_id];
    auto [previous, inserted] = changes->endpoints.try_emplace(endpoint_id, ticket);
    if (!inserted) {
      if (ticket < previous->second) return IndexUpdate::done;  // a newer read of this endpoint is in
      previous->second = ticket;
    }
  }
  // A change that leaves the subscription as it was (a new URL, secret or
  // header; an update of a disabled endpoint) only needs its ticket.
  const SubscribedEndpoint* before = entry->find(endpoint_id);
  const bool same = before == nullptr ? now == nullptr : now != nullptr && *before == *now;
  if (!same) {
    std::vector<SubscribedEndpoint> subscribed = entry->subscribed();
    auto at = position_of(subscribed, endpoint_id);
    if (now == nullptr) {
      subscribed.erase(at);  // `before` was found, so `at` is it
    } else if (before != nullptr) {
      *at = *now;
    } else {
      subscribed.insert(at, *now);
    }
    set_entry(workspace_id, std::make_shared<const WorkspaceSubscriptions>(entry->workspace(), std::move(subscribed)));
  }
  if (changes != nullptr &&
      changes->endpoints.size() > kMaxChangesBeyondSize + 2 * std::max(entry->endpoint_count(), std::size_t{1})) {
    return IndexUpdate::reload_workspace;
  }
  return IndexUpdate::done;
}

IndexUpdate SubscriptionIndex::apply_endpoint(const Endpoint& endpoint, std::uint64_t ticket) {
  if (!endpoint.enabled) return change_endpoint(endpoint.workspace_id, endpoint.id, nullptr, ticket);
  const SubscribedEndpoint now{endpoint.id, endpoint.filter_types};
  return change_endpoint(endpoint.workspace_id, endpoint.id, &now, ticket);
}

IndexUpdate SubscriptionIndex::remove_endpoint(const std::string& workspace_id, const std::string& endpoint_id,
                                               std::uint64_t ticket) {
  return change_endpoint(workspace_id, endpoint_id, nullptr, ticket);
}

IndexUpdate SubscriptionIndex::apply_settings(const Workspace& workspace, std::uint64_t ticket) {
  std::lock_guard write(write_mutex_);
  const Entry entry = current(workspace.id);
  if (entry == nullptr) return IndexUpdate::reload_workspace;
  if (is_stale(workspace.id, ticket)) return IndexUpdate::done;
  if (ticket != 0) {
    Changes& changes = changes_[workspace.id];
    if (ticket < changes.settings) return IndexUpdate::done;
    changes.settings = ticket;
  }
  set_entry(workspace.id, std::make_shared<const WorkspaceSubscriptions>(workspace, entry->subscribed()));
  return IndexUpdate::done;
}

}  // namespace ferry
