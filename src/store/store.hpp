#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/api_key.hpp"
#include "core/attempt.hpp"
#include "core/attempt_stats.hpp"
#include "core/delivery.hpp"
#include "core/endpoint.hpp"
#include "core/event_type.hpp"
#include "core/message.hpp"
#include "core/page.hpp"
#include "core/result.hpp"
#include "core/workspace.hpp"

namespace ferry {

// What a message listing may ask of a message's deliveries: at least one of
// them (to the query's endpoint, when it names one) is open (pending or
// retrying), succeeded, or failed.
enum class MessageDeliveryStatus { pending, succeeded, failed };

// Filter for listing messages of one workspace.
struct MessageQuery {
  PageRequest page;
  std::optional<std::string> type;              // exact type name
  std::optional<UnixMillis> since_ms;           // created_at >= since
  std::optional<UnixMillis> until_ms;           // created_at <  until
  std::optional<std::string> endpoint_id;       // has a delivery to this endpoint
  std::optional<MessageDeliveryStatus> status;  // has a delivery (to endpoint_id, if set) in this state
};

// Which failed deliveries to make due again: those of one endpoint created
// (with their message) in [since_ms, until_ms).
struct RecoverRequest {
  std::string workspace_id;
  std::string endpoint_id;
  UnixMillis since_ms = 0;
  UnixMillis until_ms = 0;
  UnixMillis now_ms = 0;   // they become due at this time
  int batch_limit = 1000;  // deliveries per transaction
  // Stop after this many (0: no limit): a caller that must answer in
  // bounded time asks again for the rest.
  std::int64_t max_deliveries = 0;
};

// What a recovery did.
struct RecoverOutcome {
  std::int64_t recovered = 0;  // deliveries made due
  bool more = false;           // stopped at max_deliveries: some may be left
};

// Filter for listing deliveries.
struct DeliveryQuery {
  PageRequest page;
  std::optional<DeliveryState> state;
};

// Which attempts a listing keeps: those answered with a 2xx, or the others.
enum class AttemptOutcome { succeeded, failed };

// What attempt_stats sums: the attempts of the workspace, or of one of its
// endpoints, in the window's buckets.
struct StatsQuery {
  StatsWindow window;
  std::optional<std::string> endpoint_id;
};

// One message to store, with the deliveries its fan-out produced.
struct PublishRequest {
  Message message;
  // The endpoints the message fans out to, each with the id of its new
  // delivery. The store creates a delivery only for endpoints that still
  // exist and are enabled when the transaction runs.
  struct Target {
    std::string endpoint_id;
    std::string delivery_id;
  };
  std::vector<Target> targets;
};

// What publishing one message did.
struct PublishOutcome {
  Message message;         // the stored message (the earlier one, for a duplicate)
  bool duplicate = false;  // an earlier message had the same idempotency key or id
  int deliveries_created = 0;
  std::optional<Error> error;  // set when this one message was refused (others may succeed)
};

// Open deliveries (pending or retrying, claimed ones included), each group
// counted up to a limit.
struct OpenDeliveryCounts {
  std::int64_t due = 0;    // next attempt due by then: waiting for their turn, or on their way
  std::int64_t later = 0;  // next attempt due later: waiting for their time (a retry)
};

// A delivery that is due, with what the sender needs to make the attempt.
struct DueDelivery {
  Delivery delivery;
  Message message;
  Endpoint endpoint;
};

// The result of one attempt, to be written together with the delivery's new state.
struct AttemptRecord {
  Attempt attempt;
  std::int64_t lease_token = 0;  // the claimed delivery's lease_token
  DeliveryState new_state = DeliveryState::retrying;
  UnixMillis next_attempt_at_ms = 0;  // used when new_state is pending or retrying
  // When set, the endpoint is disabled with this reason (for example on 410
  // Gone) and its other open deliveries are failed.
  std::optional<std::string> disable_endpoint_reason;
};

// A delivery by its key.
struct DeliveryRef {
  std::string workspace_id;
  std::string delivery_id;
};

// A delivery this process has just created, for the scheduler to claim by
// key at once instead of finding it by a scan of everything due.
struct NewDelivery {
  DeliveryRef ref;
  std::string endpoint_id;
};

// A change made through another process sharing the same database.
struct StoreChange {
  enum class Kind {
    deliveries_due,     // new or resent deliveries may be due now
    endpoints_changed,  // the workspace `workspace_id` or its endpoints were created, changed, disabled or deleted
    catalogs_changed,   // a catalog or event type was created or changed
    everything_changed  // the watch connection was lost: anything may have changed meanwhile
  };
  Kind kind = Kind::deliveries_due;
  std::string workspace_id;  // for endpoints_changed
};

// Runs on a thread owned by the store; must be quick and must not call back into the store.
using StoreWatcher = std::function<void(const StoreChange&)>;

// What one round of maintenance did.
struct MaintenanceReport {
  std::int64_t messages_deleted = 0;    // rows deleted one by one (SQLite) ...
  std::int64_t partitions_dropped = 0;  // ... or whole partitions dropped (PostgreSQL)
  std::int64_t stats_rows_deleted = 0;  // minutes of the attempt statistics' rollup
  bool more = false;                    // the batch limit was reached; call again soon
};

// A message with its deliveries and attempts, exactly as stored; for copying between stores.
struct MessageRecord {
  Message message;
  std::vector<Delivery> deliveries;
  std::vector<Attempt> attempts;
};

// The durable truth of Ferry. Implementations: SqliteStore (embedded
// default, one process) and PostgresStore (several nodes on one database).
// Nothing outside src/store knows which one runs; open_store() picks it.
//
// Every method is safe for concurrent use from any thread. Methods scoped to
// a workspace return not_found for rows of other workspaces, exactly as for
// rows that do not exist. Failures of the underlying database come back as
// ErrorCode::unavailable.
class Store {
 public:
  virtual ~Store() = default;

  // --- workspaces
  virtual Result<Workspace> create_workspace(const Workspace& workspace) = 0;  // conflict if the id exists
  virtual Result<Workspace> get_workspace(std::string_view id) = 0;
  virtual Result<Page<Workspace>> list_workspaces(const PageRequest& page) = 0;
  virtual Result<Workspace> update_workspace(const Workspace& workspace) = 0;
  // Deletes the workspace and everything in it.
  virtual Status delete_workspace(std::string_view id) = 0;

  // --- API keys
  virtual Result<ApiKey> create_api_key(const ApiKey& key) = 0;
  virtual Result<ApiKey> find_api_key_by_hash(std::string_view token_hash) = 0;
  virtual Result<std::vector<ApiKey>> list_api_keys(std::string_view workspace_id) = 0;
  virtual Status delete_api_key(std::string_view workspace_id, std::string_view key_id) = 0;

  // --- endpoints
  virtual Result<Endpoint> create_endpoint(const Endpoint& endpoint) = 0;
  virtual Result<Endpoint> get_endpoint(std::string_view workspace_id, std::string_view endpoint_id) = 0;
  virtual Result<Page<Endpoint>> list_endpoints(std::string_view workspace_id, const PageRequest& page) = 0;
  // Every endpoint of every workspace; feeds the in-memory subscription index.
  virtual Result<std::vector<Endpoint>> list_all_endpoints() = 0;
  // Replaces all mutable fields. Disabling fails the endpoint's open deliveries.
  virtual Result<Endpoint> update_endpoint(const Endpoint& endpoint) = 0;
  // Deletes the endpoint with its deliveries and attempts.
  virtual Status delete_endpoint(std::string_view workspace_id, std::string_view endpoint_id) = 0;

  // --- catalogs and their event types (global, shared by every workspace)
  // Creates or replaces the catalog's document; keeps its created_at.
  virtual Result<CatalogDocument> upsert_catalog(const CatalogDocument& catalog) = 0;
  virtual Result<CatalogDocument> get_catalog(std::string_view name) = 0;
  virtual Result<std::vector<CatalogDocument>> list_catalogs() = 0;
  // Creates or replaces the type (catalog, name); keeps its created_at.
  virtual Result<EventType> upsert_event_type(const EventType& type) = 0;
  virtual Result<EventType> get_event_type(std::string_view catalog, std::string_view name) = 0;
  // Every type of every catalog, by catalog then name.
  virtual Result<std::vector<EventType>> list_event_types() = 0;

  // --- messages
  // Stores the messages and their deliveries in ONE transaction and returns
  // after it is durably committed. Idempotency: a message whose
  // idempotency_key (or id) matches one stored in the same workspace less than
  // `idempotency_window_ms` ago is not stored again; its outcome carries the
  // earlier message and duplicate=true. An id reused after the window yields
  // a per-message conflict error.
  virtual Result<std::vector<PublishOutcome>> publish(std::span<const PublishRequest> requests, UnixMillis now_ms,
                                                      UnixMillis idempotency_window_ms) = 0;
  virtual Result<Message> get_message(std::string_view workspace_id, std::string_view message_id) = 0;
  virtual Result<Page<Message>> list_messages(std::string_view workspace_id, const MessageQuery& query) = 0;

  // --- deliveries
  virtual Result<Delivery> get_delivery(std::string_view workspace_id, std::string_view delivery_id) = 0;
  virtual Result<std::vector<Delivery>> list_deliveries_for_message(std::string_view workspace_id,
                                                                    std::string_view message_id) = 0;
  virtual Result<Page<Delivery>> list_deliveries_for_endpoint(std::string_view workspace_id,
                                                              std::string_view endpoint_id,
                                                              const DeliveryQuery& query) = 0;
  // Claims up to `limit` deliveries that are pending or retrying, due at
  // `now_ms`, not leased (or whose lease expired before `now_ms`), and whose
  // endpoint is enabled and not in `excluded_endpoint_ids`; oldest due first.
  // Each claimed delivery is leased until `lease_until_ms` and carries a new
  // lease_token: no other claim, by this process or another sharing the
  // database, gets it before then unless its attempt is recorded or the
  // lease is released.
  virtual Result<std::vector<DueDelivery>> claim_due_deliveries(UnixMillis now_ms, int limit, UnixMillis lease_until_ms,
                                                                std::span<const std::string> excluded_endpoint_ids) = 0;
  // Claims these deliveries, as claim_due_deliveries would, if each is still
  // due, unleased (or its lease expired) and of an enabled endpoint; the
  // others are skipped. For work this process has just created and knows
  // by key: no scan of everything due.
  virtual Result<std::vector<DueDelivery>> claim_deliveries(std::span<const DeliveryRef> deliveries, UnixMillis now_ms,
                                                            UnixMillis lease_until_ms) = 0;
  // The earliest next_attempt_at of any open, unleased delivery, if any.
  virtual Result<std::optional<UnixMillis>> next_due_time() = 0;
  // How many open deliveries are due at `now_ms` and how many later, each
  // counted up to `limit` (a count of `limit` means at least that many).
  // Walks at most 2 * `limit` entries of the index of open deliveries,
  // whatever the size of the store.
  virtual Result<OpenDeliveryCounts> count_open_deliveries(UnixMillis now_ms, std::int64_t limit) = 0;
  // Writes attempts and the new delivery states in one transaction and
  // clears the leases. The same transaction adds each stored attempt to the
  // per-minute rollup that attempt_stats reads (one upsert per endpoint and
  // minute of the batch). Every attempt is stored; a delivery's state only moves
  // when the delivery still holds the record's lease_token, the one it was
  // claimed with; otherwise another claim or a resend has taken it over and
  // owns its state.
  virtual Status record_attempts(std::span<const AttemptRecord> records) = 0;
  // Gives claimed deliveries back without an attempt (on shutdown), so that
  // any process may claim them at once instead of after the lease.
  virtual Status release_leases(std::span<const DeliveryRef> deliveries) = 0;
  // Makes a delivery due again now, whatever its state.
  virtual Result<Delivery> resend_delivery(std::string_view workspace_id, std::string_view delivery_id,
                                           UnixMillis now_ms) = 0;
  // Makes every failed delivery of the endpoint created in [since, until)
  // due again now, as resend_delivery does one (attempt counts kept, leases
  // cleared, other processes told), in transactions of at most
  // `batch_limit` deliveries each, oldest first, up to `max_deliveries`.
  // Each batch is committed before the next starts, and `batch_done` (if
  // set) hears after each commit how many it made due, so the caller can
  // wake its scheduler while later batches run. A delivery that fails again
  // while the recovery runs is not taken twice. not_found for an endpoint
  // that is not visible; conflict when the endpoint is disabled (checked in
  // every batch: a recovery stops when the endpoint is disabled meanwhile,
  // and the disabling fails what was recovered).
  virtual Result<RecoverOutcome> recover_failed_deliveries(const RecoverRequest& request,
                                                           const std::function<void(std::int64_t)>& batch_done) = 0;

  // --- attempts
  virtual Result<std::vector<Attempt>> list_attempts_for_message(std::string_view workspace_id,
                                                                 std::string_view message_id) = 0;
  virtual Result<std::vector<Attempt>> list_attempts_for_delivery(std::string_view workspace_id,
                                                                  std::string_view delivery_id) = 0;
  // With an outcome, only attempts answered with a 2xx (succeeded) or the
  // others (failed: another status, or no answer).
  virtual Result<Page<Attempt>> list_attempts_for_endpoint(std::string_view workspace_id, std::string_view endpoint_id,
                                                           const PageRequest& page,
                                                           std::optional<AttemptOutcome> outcome = std::nullopt) = 0;

  // --- statistics
  // The attempts of the query's window summed per bucket, from the
  // per-minute rollup that record_attempts keeps: one row per bucket that
  // has attempts (start_ms is the bucket's start), oldest first. Reads one
  // index range per endpoint, whatever the number of attempts. not_found for
  // an unknown workspace, or an endpoint not in it.
  virtual Result<std::vector<AttemptStatsRow>> attempt_stats(std::string_view workspace_id,
                                                             const StatsQuery& query) = 0;
  // The messages published in the workspace within the window (by
  // created_at), per bucket with messages, oldest first. not_found for an
  // unknown workspace.
  virtual Result<std::vector<MessageCountRow>> message_counts(std::string_view workspace_id,
                                                              const StatsWindow& window) = 0;

  // --- several processes on one database
  // Registers the one watcher of changes made by other processes sharing the
  // database (a single-process store never calls it). Call once, before work
  // starts, and load what the watcher keeps fresh after it returns: when the
  // database is reachable it returns already listening. After any gap in
  // listening (including one at the start, when the database could not be
  // reached) it reports everything_changed: changes made meanwhile reached
  // nobody.
  virtual void watch(StoreWatcher watcher) = 0;

  // --- upkeep
  // Prepares storage for the coming days (time partitions) and removes
  // messages created before `retention_cutoff_ms` with their deliveries and
  // attempts, and the rollup's minutes before it, at most about `batch_limit` rows per call so that publishes are
  // never held up for long. Idempotent; call periodically.
  virtual Result<MaintenanceReport> maintain(UnixMillis now_ms, UnixMillis retention_cutoff_ms, int batch_limit) = 0;

  // --- copying between stores (ferry store copy)
  // True when the store holds no workspace and no event type.
  virtual Result<bool> is_empty() = 0;
  // Inserts the records verbatim (same ids, states and times, leases
  // cleared) in one transaction; rows whose id exists already are left as
  // they are, so an interrupted copy can run again. Idempotency keys of the
  // messages are kept. The attempts inserted are added to the statistics'
  // rollup (those left as they were are not), so a copy into an empty store
  // rebuilds the statistics of what it copies, once.
  virtual Status import_messages(std::span<const MessageRecord> records) = 0;
};

}  // namespace ferry
