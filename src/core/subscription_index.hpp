#pragma once

#include <atomic>
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

// What the index keeps of an enabled endpoint: enough to build a
// workspace's subscriptions again from memory when one endpoint changes,
// without reading the others from the store.
struct SubscribedEndpoint {
  std::string id;
  std::vector<std::string> filter_types;  // as the endpoint's: empty means every type

  friend bool operator==(const SubscribedEndpoint&, const SubscribedEndpoint&) = default;
};

// Which enabled endpoints of one workspace subscribe to which types:
// a hash map for exact names, a map of dotted prefixes for "group.*"
// wildcards, and a list for "*". It also keeps the workspace's settings
// (catalog, profile, validation, test mode), which publishes read as often
// as its subscriptions and which change with them. Immutable once built.
class WorkspaceSubscriptions {
 public:
  // From a workspace's endpoints in any order; disabled ones are skipped.
  WorkspaceSubscriptions(Workspace workspace, std::span<const Endpoint> endpoints);
  // From its enabled endpoints' subscriptions in any order; of a repeated
  // id only the first counts.
  WorkspaceSubscriptions(Workspace workspace, std::vector<SubscribedEndpoint> subscribed);

  const Workspace& workspace() const { return workspace_; }

  // Ids of the enabled endpoints whose filter selects `type`, each once, in
  // the order of their ids.
  std::vector<std::string> endpoints_for(std::string_view type) const;
  std::size_t endpoint_count() const { return subscribed_.size(); }

  // The enabled endpoints, sorted by id: what a copy with one endpoint
  // changed is built from.
  const std::vector<SubscribedEndpoint>& subscribed() const { return subscribed_; }
  // Endpoint `id`'s subscription, or null when it is not an enabled endpoint here.
  const SubscribedEndpoint* find(std::string_view id) const;

 private:
  void build_maps();

  // Indexes into subscribed_.
  std::unordered_map<std::string, std::vector<std::size_t>> exact_;
  std::unordered_map<std::string, std::vector<std::size_t>> prefix_;  // "group." -> subscribers of "group.*"
  std::vector<std::size_t> everything_;
  std::vector<SubscribedEndpoint> subscribed_;  // sorted by id, ids unique
  Workspace workspace_;
};

// What an incremental change (SubscriptionIndex::apply_endpoint and the
// like) asks of its caller.
enum class IndexUpdate {
  done,
  // The index has no entry for the workspace to apply the change to (it has
  // not loaded it yet), or has collected enough per-endpoint history that
  // a full reload is due to clear it: reload the whole workspace.
  reload_workspace,
};

// Snapshots of every workspace's subscriptions. Readers get an immutable
// snapshot and never wait on a rebuild; writers replace one workspace at a
// time. Safe for concurrent use.
//
// Two ways in:
//  - full reloads (replace_workspace, remove_workspace, replace_all) from
//    everything the store holds for a workspace, used at start and when
//    another node (or the delivery side) changed something;
//  - incremental changes (apply_endpoint, remove_endpoint, apply_settings)
//    of one endpoint or the settings, as read from the store right after
//    this process changed them through the API. They rebuild the
//    workspace's snapshot from the previous one in memory (copy on write),
//    so a change costs one read of the store whatever the workspace's size.
class SubscriptionIndex {
 public:
  std::shared_ptr<const WorkspaceSubscriptions> workspace(std::string_view workspace_id) const;

  // Reads race: two threads may read the store in one order and apply what
  // they found in the other, and the older read must not win. Every read
  // that feeds the index takes a ticket before it reads the store and passes
  // it along; what a read under ticket t found is dropped where the index
  // already holds what a read under a newer ticket found, since a read that
  // started later saw every commit the older one may have missed.
  //
  // Why the index then ends up in step with the store: a writer takes its
  // ticket (and reads) after its commit returned, so every read under a
  // newer ticket sees that commit too. Whatever the index holds for an
  // endpoint or a workspace comes from the newest ticket applied to it,
  // which is at least the writer's own, so it includes the writer's commit.
  // This holds per endpoint: an incremental change of endpoint E under
  // ticket t survives a full reload with an older ticket (the reload's
  // other endpoints are taken, E is kept as the change left it, a deleted
  // E stays deleted), and a full reload with a newer ticket replaces it.
  // It needs no lock around "store write + index update" and no particular
  // order between API threads, other nodes' changes and the reloads they
  // trigger. Ticket 0 means "apply regardless" and is not remembered.
  std::uint64_t reload_ticket();

  // Rebuilds the workspace's entry from its settings and all of its
  // endpoints (disabled ones are skipped); endpoints (and settings) changed
  // under a newer ticket keep that change.
  void replace_workspace(const Workspace& workspace, std::span<const Endpoint> endpoints, std::uint64_t ticket = 0);
  // Drops the workspace (a read found it gone), with what incremental
  // changes remembered of it.
  void remove_workspace(const std::string& workspace_id, std::uint64_t ticket = 0);
  // Rebuilds everything from every workspace and every endpoint; entries
  // replaced or changed by a newer ticket meanwhile keep that.
  void replace_all(std::span<const Workspace> workspaces, std::span<const Endpoint> endpoints,
                   std::uint64_t ticket = 0);

  // One endpoint of a workspace the index holds, as read from the store
  // under `ticket`: subscribed if enabled, dropped if disabled.
  IndexUpdate apply_endpoint(const Endpoint& endpoint, std::uint64_t ticket);
  // A read under `ticket` found the endpoint gone.
  IndexUpdate remove_endpoint(const std::string& workspace_id, const std::string& endpoint_id, std::uint64_t ticket);
  // The workspace's settings, as read from the store under `ticket`; its
  // endpoints stay as they are.
  IndexUpdate apply_settings(const Workspace& workspace, std::uint64_t ticket);

 private:
  using Map = std::unordered_map<std::string, std::shared_ptr<const WorkspaceSubscriptions>>;
  using Entry = std::shared_ptr<const WorkspaceSubscriptions>;

  // Incremental changes of one workspace newer than its last full reload:
  // the ticket of each. Only these can be undone by a reload that is older
  // than them but arrives later; older ones are forgotten when a reload
  // supersedes them. Kept only while the workspace has an entry.
  struct Changes {
    std::uint64_t settings = 0;                                // 0: none
    std::unordered_map<std::string, std::uint64_t> endpoints;  // endpoint id -> ticket, removals included
  };

  // True when a full replacement under `ticket` would undo a newer one.
  bool is_stale(const std::string& workspace_id, std::uint64_t ticket) const;
  // The entry a full reload under `ticket` found, with the workspace's
  // newer incremental changes laid over it from `current`; forgets the
  // changes the reload supersedes.
  Entry merge_newer_changes(const std::string& workspace_id, Entry fresh, const Entry& current, std::uint64_t ticket);
  // The shared part of apply_endpoint and remove_endpoint; `now` is null
  // when the endpoint is no longer subscribed (disabled or gone).
  IndexUpdate change_endpoint(const std::string& workspace_id, const std::string& endpoint_id,
                              const SubscribedEndpoint* now, std::uint64_t ticket);
  Entry current(const std::string& workspace_id) const;          // call with write_mutex_ held
  void set_entry(const std::string& workspace_id, Entry entry);  // likewise; null removes

  // Writers (reloads and changes) hold write_mutex_ from reading the
  // bookkeeping below to publishing the new map, so that two changes to one
  // workspace never build on the same previous snapshot and lose one.
  // Readers only take mutex_, for as long as it takes to copy map_, so a
  // rebuild never makes a publish wait.
  std::mutex write_mutex_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Map> map_ = std::make_shared<Map>();
  std::atomic<std::uint64_t> last_ticket_{0};
  // Guarded by write_mutex_:
  std::unordered_map<std::string, std::uint64_t> applied_;  // ticket of each workspace's last full replacement
  std::uint64_t all_applied_ = 0;                           // ticket of the last replace_all
  std::unordered_map<std::string, Changes> changes_;
};

}  // namespace ferry
