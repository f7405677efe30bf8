#include "core/subscription_index.hpp"

#include <algorithm>
#include <utility>

namespace ferry {

WorkspaceSubscriptions::WorkspaceSubscriptions(Workspace workspace, std::span<const Endpoint> endpoints)
    : workspace_(std::move(workspace)) {
  for (const auto& endpoint : endpoints) {
    if (!endpoint.enabled) continue;
    const std::size_t index = endpoint_ids_.size();
    endpoint_ids_.push_back(endpoint.id);
    if (endpoint.filter_types.empty()) {
      everything_.push_back(index);
      continue;
    }
    for (const auto& pattern : endpoint.filter_types) {
      if (pattern == "*") {
        everything_.push_back(index);
      } else if (pattern.ends_with(".*")) {
        prefix_[pattern.substr(0, pattern.size() - 1)].push_back(index);
      } else {
        exact_[pattern].push_back(index);
      }
    }
  }
  endpoint_count_ = endpoint_ids_.size();
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
  for (std::size_t index : matched) ids.push_back(endpoint_ids_[index]);
  return ids;
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

std::uint64_t SubscriptionIndex::reload_ticket() {
  std::lock_guard lock(mutex_);
  return ++last_ticket_;
}

bool SubscriptionIndex::is_stale(const std::string& workspace_id, std::uint64_t ticket) const {
  if (ticket == 0) return false;
  if (ticket < all_applied_) return true;
  auto it = applied_.find(workspace_id);
  return it != applied_.end() && ticket < it->second;
}

void SubscriptionIndex::replace_workspace(const Workspace& workspace, std::span<const Endpoint> endpoints,
                                          std::uint64_t ticket) {
  auto entry = std::make_shared<const WorkspaceSubscriptions>(workspace, endpoints);
  std::lock_guard lock(mutex_);
  if (is_stale(workspace.id, ticket)) return;
  if (ticket != 0) applied_[workspace.id] = ticket;
  auto next = std::make_shared<Map>(*map_);
  (*next)[workspace.id] = std::move(entry);
  map_ = std::move(next);
}

void SubscriptionIndex::remove_workspace(const std::string& workspace_id, std::uint64_t ticket) {
  std::lock_guard lock(mutex_);
  if (is_stale(workspace_id, ticket)) return;
  if (ticket != 0) applied_[workspace_id] = ticket;
  auto next = std::make_shared<Map>(*map_);
  next->erase(workspace_id);
  map_ = std::move(next);
}

void SubscriptionIndex::replace_all(std::span<const Workspace> workspaces, std::span<const Endpoint> endpoints,
                                    std::uint64_t ticket) {
  std::unordered_map<std::string, std::vector<Endpoint>> by_workspace;
  for (const auto& endpoint : endpoints) by_workspace[endpoint.workspace_id].push_back(endpoint);
  auto next = std::make_shared<Map>();
  for (const auto& workspace : workspaces) {
    (*next)[workspace.id] = std::make_shared<const WorkspaceSubscriptions>(workspace, by_workspace[workspace.id]);
  }
  std::lock_guard lock(mutex_);
  if (ticket != 0 && ticket < all_applied_) return;
  // Workspaces reloaded (or removed) by a newer ticket keep what that reload found.
  for (auto it = applied_.begin(); it != applied_.end();) {
    if (ticket != 0 && it->second > ticket) {
      if (auto current = map_->find(it->first); current != map_->end()) {
        (*next)[it->first] = current->second;
      } else {
        next->erase(it->first);
      }
      ++it;
    } else {
      it = applied_.erase(it);  // superseded by this rebuild
    }
  }
  if (ticket != 0) all_applied_ = ticket;
  map_ = std::move(next);
}

}  // namespace ferry
