#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "store/store.hpp"

namespace ferry {

class SqliteConnection;
class SqliteCheckpointer;
class SqliteReaderPool;

// The embedded Store: one SQLite database file in WAL mode.
//
// Every write runs on one connection behind a mutex: SQLite admits a single
// writer anyway, and queueing in-process is cheaper and fairer than spinning on
// SQLITE_BUSY. Each write method is one transaction, durably committed
// (synchronous=FULL) before the method returns, except claims and lease
// releases: a lease means nothing after a restart (open() clears them all),
// so those commits skip the disk flush; the next durable commit flushes them
// with its own, and WAL keeps the order. Reads run on pooled
// connections of their own and see the last committed state without waiting
// for a write in progress.
//
// Beyond the promises of Store:
// - Pages are newest first (id descending); plain vectors (API keys,
//   deliveries and attempts of one message or delivery) are oldest first.
// - Listing the children of a parent that is not visible (a workspace,
//   message, delivery or endpoint that does not exist in that workspace)
//   answers not_found rather than an empty list.
//
// Safe for concurrent use from any thread.
class SqliteStore final : public Store {
 public:
  // Opens or creates the database file at `path` and brings its schema up to
  // date. `path` must name a file: an in-memory database could not be shared
  // between the writer and the read connections.
  //
  // One process at a time: open() takes an exclusive lock on `path`.lock and
  // fails (unavailable) while another process holds it. Since nobody else can
  // hold a lease, open() releases every lease left by a process that died.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Result<Workspace> create_workspace(const Workspace& workspace) override;
  Result<Workspace> get_workspace(std::string_view id) override;
  Result<Page<Workspace>> list_workspaces(const PageRequest& page) override;
  Result<Workspace> update_workspace(const Workspace& workspace) override;
  Status delete_workspace(std::string_view id) override;

  Result<ApiKey> create_api_key(const ApiKey& key) override;
  Result<ApiKey> find_api_key_by_hash(std::string_view token_hash) override;
  Result<std::vector<ApiKey>> list_api_keys(std::string_view workspace_id) override;
  Status delete_api_key(std::string_view workspace_id, std::string_view key_id) override;

  Result<Endpoint> create_endpoint(const Endpoint& endpoint) override;
  Result<Endpoint> get_endpoint(std::string_view workspace_id, std::string_view endpoint_id) override;
  Result<Page<Endpoint>> list_endpoints(std::string_view workspace_id, const PageRequest& page) override;
  Result<std::vector<Endpoint>> list_all_endpoints() override;
  Result<Endpoint> update_endpoint(const Endpoint& endpoint) override;
  Status delete_endpoint(std::string_view workspace_id, std::string_view endpoint_id) override;

  Result<CatalogDocument> upsert_catalog(const CatalogDocument& catalog) override;
  Result<CatalogDocument> get_catalog(std::string_view name) override;
  Result<std::vector<CatalogDocument>> list_catalogs() override;
  Result<EventType> upsert_event_type(const EventType& type) override;
  Result<EventType> get_event_type(std::string_view catalog, std::string_view name) override;
  Result<std::vector<EventType>> list_event_types() override;

  Result<std::vector<PublishOutcome>> publish(std::span<const PublishRequest> requests, UnixMillis now_ms,
                                              UnixMillis idempotency_window_ms) override;
  Result<Message> get_message(std::string_view workspace_id, std::string_view message_id) override;
  Result<Page<Message>> list_messages(std::string_view workspace_id, const MessageQuery& query) override;

  Result<Delivery> get_delivery(std::string_view workspace_id, std::string_view delivery_id) override;
  Result<std::vector<Delivery>> list_deliveries_for_message(std::string_view workspace_id,
                                                            std::string_view message_id) override;
  Result<Page<Delivery>> list_deliveries_for_endpoint(std::string_view workspace_id, std::string_view endpoint_id,
                                                      const DeliveryQuery& query) override;
  Result<std::vector<DueDelivery>> claim_due_deliveries(UnixMillis now_ms, int limit, UnixMillis lease_until_ms,
                                                        std::span<const std::string> excluded_endpoint_ids) override;
  Result<std::vector<DueDelivery>> claim_deliveries(std::span<const DeliveryRef> deliveries, UnixMillis now_ms,
                                                    UnixMillis lease_until_ms) override;
  Result<std::optional<UnixMillis>> next_due_time() override;
  Result<OpenDeliveryCounts> count_open_deliveries(UnixMillis now_ms, std::int64_t limit) override;
  Status record_attempts(std::span<const AttemptRecord> records) override;
  Status release_leases(std::span<const DeliveryRef> deliveries) override;
  Result<Delivery> resend_delivery(std::string_view workspace_id, std::string_view delivery_id,
                                   UnixMillis now_ms) override;
  Result<RecoverOutcome> recover_failed_deliveries(const RecoverRequest& request,
                                                   const std::function<void(std::int64_t)>& batch_done) override;

  Result<std::vector<Attempt>> list_attempts_for_message(std::string_view workspace_id,
                                                         std::string_view message_id) override;
  Result<std::vector<Attempt>> list_attempts_for_delivery(std::string_view workspace_id,
                                                          std::string_view delivery_id) override;
  Result<Page<Attempt>> list_attempts_for_endpoint(std::string_view workspace_id, std::string_view endpoint_id,
                                                   const PageRequest& page,
                                                   std::optional<AttemptOutcome> outcome = std::nullopt) override;
  Result<std::vector<AttemptStatsRow>> attempt_stats(std::string_view workspace_id, const StatsQuery& query) override;
  Result<std::vector<MessageCountRow>> message_counts(std::string_view workspace_id,
                                                      const StatsWindow& window) override;

  // One process owns an SQLite store, so nobody else can change it behind its back.
  void watch(StoreWatcher watcher) override;
  Result<MaintenanceReport> maintain(UnixMillis now_ms, UnixMillis retention_cutoff_ms, int batch_limit) override;
  Result<bool> is_empty() override;
  Status import_messages(std::span<const MessageRecord> records) override;

 private:
  SqliteStore(std::unique_ptr<SqliteConnection> writer, std::unique_ptr<SqliteCheckpointer> checkpointer,
              std::unique_ptr<SqliteReaderPool> readers, int lock_fd);

  // Whether a commit waits for the disk: lazy commits survive a crash of
  // the process but not of the machine.
  enum class Commit { durable, lazy };
  // Runs `body` in one IMMEDIATE transaction on the writer; commits when it
  // succeeds, rolls back otherwise. Defined in the .cpp, its only user.
  template <class Body>
  auto write(Body&& body, Commit commit = Commit::durable);
  // Runs `body` on a pooled read connection.
  template <class Body>
  auto read(Body&& body);

  std::mutex writer_mutex_;
  std::unique_ptr<SqliteConnection> writer_;          // guarded by writer_mutex_
  Commit writer_commit_ = Commit::durable;            // the writer's synchronous mode; guarded by writer_mutex_
  std::unique_ptr<SqliteCheckpointer> checkpointer_;  // the writer's checkpoints, off its commits
  std::unique_ptr<SqliteReaderPool> readers_;
  int lock_fd_;  // holds the flock that makes this process the store's only user
};

}  // namespace ferry
