#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/api_key.hpp"
#include "core/attempt.hpp"
#include "core/delivery.hpp"
#include "core/endpoint.hpp"
#include "core/event_type.hpp"
#include "core/message.hpp"
#include "core/page.hpp"
#include "core/result.hpp"
#include "core/workspace.hpp"

namespace ferry {

// Filter for listing messages of one workspace.
struct MessageQuery {
  PageRequest page;
  std::optional<std::string> type;        // exact type name
  std::optional<UnixMillis> since_ms;     // created_at >= since
  std::optional<UnixMillis> until_ms;     // created_at <  until
};

// Filter for listing deliveries.
struct DeliveryQuery {
  PageRequest page;
  std::optional<DeliveryState> state;
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
  Message message;           // the stored message (the earlier one, for a duplicate)
  bool duplicate = false;    // an earlier message had the same idempotency key or id
  int deliveries_created = 0;
  std::optional<Error> error;  // set when this one message was refused (others may succeed)
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
  DeliveryState new_state = DeliveryState::retrying;
  UnixMillis next_attempt_at_ms = 0;  // used when new_state is pending or retrying
  // When set, the endpoint is disabled with this reason (for example on 410
  // Gone) and its other open deliveries are failed.
  std::optional<std::string> disable_endpoint_reason;
};

// The durable truth of Ferry. Implementations: SqliteStore (embedded
// default) and, later, a PostgreSQL store. Nothing outside src/store knows
// which one runs.
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

  // --- event types (global)
  virtual Result<EventType> upsert_event_type(const EventType& type) = 0;
  virtual Result<EventType> get_event_type(std::string_view name) = 0;
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
  // `now_ms`, not leased, and whose endpoint is enabled and not in
  // `excluded_endpoint_ids`; oldest due first. Each claimed delivery is leased
  // until `lease_until_ms`: it is not claimed again before then unless its
  // attempt is recorded or the lease is released.
  virtual Result<std::vector<DueDelivery>> claim_due_deliveries(UnixMillis now_ms, int limit,
                                                                UnixMillis lease_until_ms,
                                                                std::span<const std::string> excluded_endpoint_ids) = 0;
  // The earliest next_attempt_at of any open, unleased delivery, if any.
  virtual Result<std::optional<UnixMillis>> next_due_time() = 0;
  // Writes attempts and the new delivery states in one transaction; clears the leases.
  virtual Status record_attempts(std::span<const AttemptRecord> records) = 0;
  // Releases every lease (on start of a single-node store: leases of a dead process).
  virtual Status release_all_leases() = 0;
  // Makes a delivery due again now, whatever its state.
  virtual Result<Delivery> resend_delivery(std::string_view workspace_id, std::string_view delivery_id,
                                           UnixMillis now_ms) = 0;

  // --- attempts
  virtual Result<std::vector<Attempt>> list_attempts_for_message(std::string_view workspace_id,
                                                                 std::string_view message_id) = 0;
  virtual Result<std::vector<Attempt>> list_attempts_for_delivery(std::string_view workspace_id,
                                                                  std::string_view delivery_id) = 0;
  virtual Result<Page<Attempt>> list_attempts_for_endpoint(std::string_view workspace_id,
                                                           std::string_view endpoint_id, const PageRequest& page) = 0;
};

}  // namespace ferry
