#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "store/store.hpp"

namespace ferry {

class PgListener;
class PgPartitions;
class PgPool;

struct PostgresOptions {
  std::string url;    // postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?...]
  int pool_size = 8;  // connections this process may hold (the watcher uses one more)
  // How long a call waits for a free connection before it fails (unavailable).
  std::chrono::milliseconds acquire_timeout{5000};
  // How long opening one connection may take (libpq's connect_timeout), unless the URL sets it.
  std::chrono::seconds connect_timeout{5};
};

// The Store for several Ferry nodes sharing one PostgreSQL database.
//
// Each write method is one transaction; reads are single statements (plus a
// parent check for empty lists) on pooled connections. The results match
// SqliteStore's (see sqlite_store.hpp): pages newest first (id descending),
// plain vectors oldest first, not_found for the children of a parent that is
// not visible, and the same idempotency rules.
//
// Sharing the database with other processes:
// - Claims lock rows with FOR UPDATE SKIP LOCKED, so concurrent claimers
//   never take the same delivery; every claim bumps the delivery's
//   lease_token and an attempt's outcome only moves the delivery while its
//   token is current.
// - A message id or idempotency key published on two nodes at once yields
//   one message (see message_keys in postgres_migrations.cpp).
// - Changes that others must react to (deliveries due, endpoints changed)
//   are announced with pg_notify and heard through watch().
// - Schema migrations and partition changes are serialised with advisory locks.
//
// When the database goes away, calls fail with unavailable; once it is back,
// the pool reconnects and calls succeed again.
//
// Safe for concurrent use from any thread.
class PostgresStore final : public Store {
 public:
  // Connects, brings the schema up to date and creates the partitions for
  // the current days. Fails with unavailable ("cannot connect to URL: ...")
  // when the database cannot be reached.
  static Result<std::unique_ptr<PostgresStore>> open(const PostgresOptions& options);

  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

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

  // Starts a listener thread with a connection of its own; changes made
  // through this instance are not reported to it. Later calls are ignored.
  void watch(StoreWatcher watcher) override;

  // Creates the partitions from yesterday to a week ahead, drops the
  // partitions whose whole day is older than the cutoff, and deletes (in
  // batches) the deliveries and keys of older messages, and the older
  // messages of the partly expired day.
  Result<MaintenanceReport> maintain(UnixMillis now_ms, UnixMillis retention_cutoff_ms, int batch_limit) override;

  Result<bool> is_empty() override;
  Status import_messages(std::span<const MessageRecord> records) override;

  // This instance's name in change notifications.
  const std::string& node_id() const { return node_id_; }

 private:
  PostgresStore(PostgresOptions options, std::unique_ptr<PgPool> pool, std::string node_id);

  // Runs `body` with a pooled connection. When the connection turns out
  // lost on its first statement (the server restarted since it was last
  // used), runs it once more on a fresh one: nothing had reached the server.
  template <class Body>
  auto with_connection(Body&& body);
  // Runs `body` in one transaction; commits when it succeeds.
  template <class Body>
  auto write(Body&& body);

  const PostgresOptions options_;
  const std::unique_ptr<PgPool> pool_;
  const std::unique_ptr<PgPartitions> partitions_;
  const std::string node_id_;
  std::mutex listener_mutex_;
  std::unique_ptr<PgListener> listener_;  // guarded by listener_mutex_
};

}  // namespace ferry
