#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/endpoint.hpp"
#include "core/workspace.hpp"

namespace ferry {

// Which enabled endpoints of one workspace subscribe to which types:
// a hash map for exact names, a map of dotted prefixes for "group.*"
// wildcards, and a list for "*". It also keeps the workspace's settings
// (catalog, profile, validation, test mode), which publishes read as often
// as its subscriptions and which change with them. Immutable once built.
class WorkspaceSubscriptions {
 public:
  WorkspaceSubscriptions(Workspace workspace, std::span<const Endpoint> endpoints);

  const Workspace& workspace() const { return workspace_; }

  // Ids of the enabled endpoints whose filter selects `type`, each once, in
  // a stable order.
  std::vector<std::string> endpoints_for(std::string_view type) const;
  std::size_t endpoint_count() const { return endpoint_count_; }

 private:
  // Indexes into endpoint_ids_.
  std::unordered_map<std::string, std::vector<std::size_t>> exact_;
  std::unordered_map<std::string, std::vector<std::size_t>> prefix_;  // "group." -> subscribers of "group.*"
  std::vector<std::size_t> everything_;
  std::vector<std::string> endpoint_ids_;
  std::size_t endpoint_count_ = 0;
  Workspace workspace_;
};

// Snapshots of every workspace's subscriptions. Readers get an immutable
// snapshot and never wait on a rebuild; writers replace one workspace at a
// time. Safe for concurrent use.
class SubscriptionIndex {
 public:
  std::shared_ptr<const WorkspaceSubscriptions> workspace(std::string_view workspace_id) const;

  // Reloads race: two threads may read the store in one order and replace
  // entries in the other, and the older read must not win. A reload takes a
  // ticket before it reads the store and passes it along; a replacement
  // whose ticket is older than the one last applied to that workspace is
  // dropped, since a read that started later saw newer data. Ticket 0 means
  // "apply regardless".
  std::uint64_t reload_ticket();

  // Rebuilds the workspace's entry from its settings and all of its
  // endpoints (disabled ones are skipped).
  void replace_workspace(const Workspace& workspace, std::span<const Endpoint> endpoints, std::uint64_t ticket = 0);
  void remove_workspace(const std::string& workspace_id, std::uint64_t ticket = 0);
  // Rebuilds everything from every workspace and every endpoint; entries
  // replaced by a newer ticket meanwhile are kept.
  void replace_all(std::span<const Workspace> workspaces, std::span<const Endpoint> endpoints,
                   std::uint64_t ticket = 0);

 private:
  using Map = std::unordered_map<std::string, std::shared_ptr<const WorkspaceSubscriptions>>;
  // True when an entry replaced under `ticket` would undo a newer one. Call with mutex_ held.
  bool is_stale(const std::string& workspace_id, std::uint64_t ticket) const;

  mutable std::mutex mutex_;
  std::shared_ptr<const Map> map_ = std::make_shared<Map>();
  std::uint64_t last_ticket_ = 0;
  std::unordered_map<std::string, std::uint64_t> applied_;  // ticket of each workspace's last replacement
  std::uint64_t all_applied_ = 0;                           // ticket of the last replace_all
};

}  // namespace ferry
