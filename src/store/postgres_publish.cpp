#include "store/postgres_publish.hpp"

#include <map>
#include <set>
#include <string>
#include <utility>

#include "store/backend_support.hpp"
#include "store/postgres_listener.hpp"
#include "store/postgres_rows.hpp"
#include "store/postgres_stats.hpp"

namespace ferry {

namespace {

// A row of message_keys: (workspace_id, key). Keys are bytes: "i:" + message
// id, or "k:" + the producer's idempotency key.
using KeyRef = std::pair<std::string, std::string>;
// (workspace_id, id) of an endpoint, delivery or message.
using RowRef = std::pair<std::string, std::string>;

KeyRef id_key(const Message& message) { return {message.workspace_id, "i:" + message.id}; }
KeyRef producer_key(const Message& message) { return {message.workspace_id, "k:" + *message.idempotency_key}; }

// What a key points at while the batch is decided.
struct KeyOwner {
  std::string message_id;
  UnixMillis created_at_ms = 0;
  bool in_table = false;  // the row exists in message_keys (and is locked)
  bool free = false;      // no message owns it (its row points at a message that is gone)
  int batch_index = -1;   // the owner is the batch's stored message at this index
  bool changed = false;   // the row must be written
};

const std::string kNotify = cat("SELECT pg_notify('", kPgChangesChannel, "', $1)");

const std::string kLockWorkspaces = "SELECT id FROM workspaces WHERE id = ANY ($1) ORDER BY id FOR KEY SHARE";
// ORDER BY below FOR UPDATE: rows are locked in key order.
const std::string kLockKeys =
    "SELECT k.workspace_id, k.key, k.message_id, k.created_at FROM message_keys k "
    "JOIN unnest($1::text[], $2::bytea[]) AS u (workspace_id, key) ON k.workspace_id = u.workspace_id AND k.key = "
    "u.key "
    "ORDER BY k.workspace_id, k.key FOR UPDATE OF k";
const std::string kSelectMessagesByKey =
    cat("SELECT ", kPgMessageColumns,
        " FROM messages m JOIN unnest($1::text[], $2::text[], $3::int8[]) "
        "AS u (workspace_id, id, created_at) ON m.workspace_id = u.workspace_id AND m.id = u.id "
        "AND m.created_at = u.created_at");
const std::string kLockEndpoints =
    "SELECT e.workspace_id, e.id, e.enabled FROM endpoints e "
    "JOIN unnest($1::text[], $2::text[]) AS u (workspace_id, id) ON e.workspace_id = u.workspace_id AND e.id = u.id "
    "ORDER BY e.workspace_id, e.id FOR SHARE OF e";
const std::string kTakenDeliveries =
    "SELECT d.workspace_id, d.id FROM deliveries d "
    "JOIN unnest($1::text[], $2::text[]) AS u (workspace_id, id) ON d.workspace_id = u.workspace_id AND d.id = u.id";
const std::string kInsertKeys =
    "INSERT INTO message_keys (workspace_id, key, message_id, created_at) "
    "SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::int8[]) AS u (workspace_id, key, message_id, "
    "created_at) ORDER BY 1, 2 ON CONFLICT DO NOTHING RETURNING workspace_id";
const std::string kUpdateKeys =
    "UPDATE message_keys k SET message_id = u.message_id, created_at = u.created_at "
    "FROM unnest($1::text[], $2::bytea[], $3::text[], $4::int8[]) AS u (workspace_id, key, message_id, created_at) "
    "WHERE k.workspace_id = u.workspace_id AND k.key = u.key";
const std::string kClearMessageKeys =
    "UPDATE messages m SET idempotency_key = NULL "
    "FROM unnest($1::text[], $2::text[], $3::int8[]) AS u (workspace_id, id, created_at) "
    "WHERE m.workspace_id = u.workspace_id AND m.id = u.id AND m.created_at = u.created_at";
// unnest cannot hand out one array per row, so each message's flags come
// as one array literal (see pg_array_literal) and are cast back.
const std::string kInsertMessages =
    "INSERT INTO messages (workspace_id, id, type, payload, created_at, idempotency_key, test, flags) "
    "SELECT u.workspace_id, u.id, u.type, u.payload, u.created_at, u.idempotency_key, u.test, u.flags::text[] "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::int8[], $6::bytea[], $7::bool[], $8::text[]) "
    "AS u (workspace_id, id, type, payload, created_at, idempotency_key, test, flags)";
const std::string kInsertDeliveries =
    "INSERT INTO deliveries (workspace_id, id, message_id, message_created_at, endpoint_id, state, attempt_count, "
    "next_attempt_at, leased_until, lease_token, created_at, updated_at) "
    "SELECT u.workspace_id, u.id, u.message_id, u.message_created_at, u.endpoint_id, 'pending', 0, $6, NULL, 0, $6, $6 "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[]) "
    "AS u (workspace_id, id, message_id, message_created_at, endpoint_id)";

// Imports keep what exists: ids first, so a message stored before keeps its rows.
const std::string kImportIds =
    "INSERT INTO message_keys (workspace_id, key, message_id, created_at) "
    "SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::int8[]) AS u (workspace_id, key, message_id, "
    "created_at) ORDER BY 1, 2 ON CONFLICT DO NOTHING RETURNING workspace_id, key";
const std::string kImportMessages = kInsertMessages + " ON CONFLICT DO NOTHING";
const std::string kImportDeliveries =
    "INSERT INTO deliveries (workspace_id, id, message_id, message_created_at, endpoint_id, state, attempt_count, "
    "next_attempt_at, leased_until, lease_token, created_at, updated_at) "
    "SELECT u.workspace_id, u.id, u.message_id, u.message_created_at, u.endpoint_id, u.state, u.attempt_count, "
    "u.next_attempt_at, NULL, u.lease_token, u.created_at, u.updated_at "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], $7::int8[], $8::int8[], "
    "$9::int8[], $10::int8[], $11::int8[]) AS u (workspace_id, id, message_id, message_created_at, endpoint_id, state, "
    "attempt_count, next_attempt_at, lease_token, created_at, updated_at) "
    "ON CONFLICT DO NOTHING RETURNING 1";
const std::string kImportAttempts =
    "INSERT INTO attempts (workspace_id, id, delivery_id, message_id, endpoint_id, attempt_number, started_at, "
    "latency_us, url, request_headers, response_status, response_headers, response_body, error, error_detail) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[], "
    "$8::int8[], $9::text[], $10::text[], $11::int8[], $12::text[], $13::bytea[], $14::text[], $15::text[]) "
    "ON CONFLICT DO NOTHING RETURNING workspace_id, id";

PublishOutcome refused(const Message& message, ErrorCode code, std::string text) {
  PublishOutcome outcome;
  outcome.message = message;
  outcome.error = make_error(code, std::move(text));
  return outcome;
}

// Parameters for a list of (workspace_id, key) pairs.
PgParams key_params(const std::set<KeyRef>& keys) {
  PgArray workspaces(pg_type::text);
  PgArray names(pg_type::bytea);
  for (const auto& [workspace_id, key] : keys) {
    workspaces.text(workspace_id);
    names.text(key);
  }
  PgParams params;
  params.array(workspaces).array(names);
  return params;
}

PgParams row_params(const std::set<RowRef>& rows) {
  PgArray workspaces(pg_type::text);
  PgArray ids(pg_type::text);
  for (const auto& [workspace_id, id] : rows) {
    workspaces.text(workspace_id);
    ids.text(id);
  }
  PgParams params;
  params.array(workspaces).array(ids);
  return params;
}

struct PlannedDelivery {
  std::string workspace_id;
  std::string id;
  std::string message_id;
  UnixMillis message_created_at_ms = 0;
  std::string endpoint_id;
};

// Everything the batch reads before deciding, locked where it matters.
struct BatchFacts {
  std::set<std::string> workspaces;   // that exist
  std::map<KeyRef, KeyOwner> keys;    // that exist, then as decided
  std::map<RowRef, Message> earlier;  // messages a duplicate may point at
  std::set<RowRef> enabled_endpoints;
  std::set<RowRef> taken_deliveries;
};

Status read_facts(PgConnection& db, std::span<const PublishRequest> requests, UnixMillis fresh_after,
                  BatchFacts& facts) {
  std::set<std::string> workspace_ids;
  for (const auto& request : requests) workspace_ids.insert(request.message.workspace_id);
  PgArray workspace_array(pg_type::text);
  for (const auto& id : workspace_ids) workspace_array.text(id);
  PgParams workspace_params;
  workspace_params.array(workspace_array);
  auto workspaces = db.query(kLockWorkspaces, workspace_params);
  if (!workspaces) return workspaces.error();
  for (int row = 0; row < workspaces->rows(); ++row) facts.workspaces.insert(workspaces->text(row, 0));

  std::set<KeyRef> keys;
  std::set<RowRef> endpoints;
  for (const auto& request : requests) {
    const Message& message = request.message;
    if (!facts.workspaces.contains(message.workspace_id)) continue;
    keys.insert(id_key(message));
    if (message.idempotency_key) keys.insert(producer_key(message));
    for (const auto& target : request.targets) endpoints.insert({message.workspace_id, target.endpoint_id});
  }
  if (keys.empty()) return {};

  auto locked = db.query(kLockKeys, key_params(keys));
  if (!locked) return locked.error();
  std::set<RowRef> wanted;
  PgArray wanted_workspaces(pg_type::text);
  PgArray wanted_ids(pg_type::text);
  PgArray wanted_times(pg_type::int8);
  for (int row = 0; row < locked->rows(); ++row) {
    KeyOwner owner;
    owner.message_id = locked->text(row, 2);
    owner.created_at_ms = locked->integer(row, 3);
    owner.in_table = true;
    KeyRef key{locked->text(row, 0), locked->text(row, 1)};
    // Only a message inside the window can be a duplicate's answer.
    if (owner.created_at_ms > fresh_after && wanted.insert({key.first, owner.message_id}).second) {
      wanted_workspaces.text(key.first);
      wanted_ids.text(owner.message_id);
      wanted_times.integer(owner.created_at_ms);
    }
    facts.keys.emplace(std::move(key), std::move(owner));
  }
  if (!wanted.empty()) {
    PgParams params;
    params.array(wanted_workspaces).array(wanted_ids).array(wanted_times);
    auto messages = db.query(kSelectMessagesByKey, params);
    if (!messages) return messages.error();
    for (int row = 0; row < messages->rows(); ++row) {
      Message message = read_message(PgRow(*messages, row), 0);
      RowRef ref{message.workspace_id, message.id};
      facts.earlier.emplace(std::move(ref), std::move(message));
    }
    // A key whose message is gone (retention got there first) binds nothing.
    for (auto& [key, owner] : facts.keys) {
      if (owner.created_at_ms > fresh_after && !facts.earlier.contains({key.first, owner.message_id})) {
        owner.free = true;
      }
    }
  }

  if (endpoints.empty()) return {};
  auto locked_endpoints = db.query(kLockEndpoints, row_params(endpoints));
  if (!locked_endpoints) return locked_endpoints.error();
  for (int row = 0; row < locked_endpoints->rows(); ++row) {
    if (locked_endpoints->boolean(row, 2)) {
      facts.enabled_endpoints.insert({locked_endpoints->text(row, 0), locked_endpoints->text(row, 1)});
    }
  }
  std::set<RowRef> deliveries;
  for (const auto& request : requests) {
    for (const auto& target : request.targets) {
      if (facts.enabled_endpoints.contains({request.message.workspace_id, target.endpoint_id})) {
        deliveries.insert({request.message.workspace_id, target.delivery_id});
      }
    }
  }
  if (deliveries.empty()) return {};
  auto taken = db.query(kTakenDeliveries, row_params(deliveries));
  if (!taken) return taken.error();
  for (int row = 0; row < taken->rows(); ++row)
    facts.taken_deliveries.insert({taken->text(row, 0), taken->text(row, 1)});
  return {};
}

// What the batch writes once every message is decided.
struct BatchPlan {
  std::vector<PublishOutcome> outcomes;
  std::vector<Message> stored;  // in batch order, with the keys they end up owning
  std::vector<PlannedDelivery> deliveries;
  std::vector<std::pair<RowRef, UnixMillis>> lose_key;  // earlier messages whose key expired and moves on
};

// Decides the batch in order, as SqliteStore would one message at a time.
BatchPlan decide(std::span<const PublishRequest> requests, UnixMillis fresh_after, BatchFacts& facts) {
  BatchPlan plan;
  std::set<RowRef> batch_deliveries;
  const auto owner_of = [&](const KeyRef& key) -> const KeyOwner* {
    auto found = facts.keys.find(key);
    if (found == facts.keys.end() || found->second.free) return nullptr;
    return &found->second;
  };
  const auto message_of = [&](const KeyRef& key, const KeyOwner& owner) -> Message {
    if (owner.batch_index >= 0) return plan.stored[static_cast<std::size_t>(owner.batch_index)];
    return facts.earlier.at({key.first, owner.message_id});
  };

  for (const auto& request : requests) {
    const Message& message = request.message;
    if (!facts.workspaces.contains(message.workspace_id)) {
      plan.outcomes.push_back(refused(message, ErrorCode::not_found, "workspace not found"));
      continue;
    }
    // A producer's key is matched against earlier keys; the id always is.
    if (message.idempotency_key) {
      const KeyRef key = producer_key(message);
      if (const KeyOwner* owner = owner_of(key); owner != nullptr && owner->created_at_ms > fresh_after) {
        plan.outcomes.push_back(duplicate_of(message_of(key, *owner)));
        continue;
      }
    }
    const KeyRef id = id_key(message);
    if (const KeyOwner* owner = owner_of(id)) {
      if (owner->created_at_ms > fresh_after) {
        plan.outcomes.push_back(duplicate_of(message_of(id, *owner)));
      } else {
        plan.outcomes.push_back(refused(message, ErrorCode::conflict, "message id already used"));
      }
      continue;
    }

    // Deliveries to the endpoints that are enabled; a delivery id in use
    // refuses the whole message.
    std::vector<PlannedDelivery> mine;
    std::set<std::string> mine_ids;
    bool clash = false;
    for (const auto& target : request.targets) {
      if (!facts.enabled_endpoints.contains({message.workspace_id, target.endpoint_id})) continue;
      const RowRef delivery{message.workspace_id, target.delivery_id};
      if (facts.taken_deliveries.contains(delivery) || batch_deliveries.contains(delivery) ||
          !mine_ids.insert(target.delivery_id).second) {
        clash = true;
        break;
      }
      mine.push_back({message.workspace_id, target.delivery_id, message.id, message.created_at_ms, target.endpoint_id});
    }
    if (clash) {
      plan.outcomes.push_back(refused(message, ErrorCode::conflict, "delivery already exists"));
      continue;
    }

    const int index = static_cast<int>(plan.stored.size());
    plan.stored.push_back(message);
    const auto own = [&](KeyOwner& owner) {
      owner.message_id = message.id;
      owner.created_at_ms = message.created_at_ms;
      owner.batch_index = index;
      owner.free = false;
      owner.changed = true;
    };
    own(facts.keys[id]);
    if (message.idempotency_key) {
      // The key's earlier owner is outside the window: the key moves to this message.
      KeyOwner& owner = facts.keys[producer_key(message)];
      if (!owner.free && (owner.in_table || owner.batch_index >= 0)) {
        if (owner.batch_index >= 0) {
          plan.stored[static_cast<std::size_t>(owner.batch_index)].idempotency_key.reset();
        } else {
          plan.lose_key.push_back({{message.workspace_id, owner.message_id}, owner.created_at_ms});
        }
      }
      own(owner);
    }
    for (auto& delivery : mine) {
      batch_deliveries.insert({delivery.workspace_id, delivery.id});
      plan.deliveries.push_back(std::move(delivery));
    }
    PublishOutcome outcome;
    outcome.message = message;
    outcome.deliveries_created = static_cast<int>(mine.size());
    plan.outcomes.push_back(std::move(outcome));
  }
  return plan;
}

// Key rows as parameters: workspace, key, message id, created_at.
struct KeyRows {
  PgArray workspaces{pg_type::text};
  PgArray keys{pg_type::bytea};
  PgArray message_ids{pg_type::text};
  PgArray times{pg_type::int8};

  void add(const KeyRef& key, const std::string& message_id, UnixMillis created_at_ms) {
    workspaces.text(key.first);
    keys.text(key.second);
    message_ids.text(message_id);
    times.integer(created_at_ms);
  }
  PgParams params() const {
    PgParams params;
    params.array(workspaces).array(keys).array(message_ids).array(times);
    return params;
  }
};

struct MessageRows {
  PgArray workspaces{pg_type::text};
  PgArray ids{pg_type::text};
  PgArray types{pg_type::text};
  PgArray payloads{pg_type::bytea};
  PgArray times{pg_type::int8};
  PgArray keys{pg_type::bytea};
  PgArray tests{pg_type::boolean};
  PgArray flags{pg_type::text};

  void add(const Message& message) {
    workspaces.text(message.workspace_id);
    ids.text(message.id);
    types.text(message.type);
    payloads.text(message.payload);
    times.integer(message.created_at_ms);
    keys.optional_text(message.idempotency_key);
    tests.boolean(message.test);
    flags.text(pg_array_literal(message.flags));
  }
  PgParams params() const {
    PgParams params;
    params.array(workspaces).array(ids).array(types).array(payloads).array(times).array(keys).array(tests).array(flags);
    return params;
  }
};

Status notify(PgConnection& db, const std::string& payload) {
  PgParams params;
  params.text(payload);
  return db.exec(kNotify, params);
}

// Returns false when a new key was inserted meanwhile by another process.
Result<bool> write_plan(PgConnection& db, const BatchPlan& plan, const BatchFacts& facts, UnixMillis now_ms,
                        std::string_view node_id) {
  KeyRows inserts;
  KeyRows updates;
  for (const auto& [key, owner] : facts.keys) {
    if (!owner.changed) continue;
    (owner.in_table ? updates : inserts).add(key, owner.message_id, owner.created_at_ms);
  }
  if (inserts.workspaces.size() > 0) {
    auto inserted = db.query(kInsertKeys, inserts.params());
    if (!inserted) return inserted.error();
    if (static_cast<std::size_t>(inserted->rows()) != inserts.workspaces.size()) return false;
  }
  if (updates.workspaces.size() > 0) {
    if (auto updated = db.exec(kUpdateKeys, updates.params()); !updated) return updated.error();
  }
  if (!plan.lose_key.empty()) {
    PgArray workspaces(pg_type::text);
    PgArray ids(pg_type::text);
    PgArray times(pg_type::int8);
    for (const auto& [message, created_at_ms] : plan.lose_key) {
      workspaces.text(message.first);
      ids.text(message.second);
      times.integer(created_at_ms);
    }
    PgParams params;
    params.array(workspaces).array(ids).array(times);
    if (auto cleared = db.exec(kClearMessageKeys, params); !cleared) return cleared.error();
  }
  if (!plan.stored.empty()) {
    MessageRows rows;
    for (const auto& message : plan.stored) rows.add(message);
    if (auto inserted = db.exec(kInsertMessages, rows.params()); !inserted) {
      return explain(inserted.error(), "message", "workspace");
    }
  }
  if (!plan.deliveries.empty()) {
    PgArray workspaces(pg_type::text);
    PgArray ids(pg_type::text);
    PgArray message_ids(pg_type::text);
    PgArray message_times(pg_type::int8);
    PgArray endpoint_ids(pg_type::text);
    for (const auto& delivery : plan.deliveries) {
      workspaces.text(delivery.workspace_id);
      ids.text(delivery.id);
      message_ids.text(delivery.message_id);
      message_times.integer(delivery.message_created_at_ms);
      endpoint_ids.text(delivery.endpoint_id);
    }
    PgParams params;
    params.array(workspaces).array(ids).array(message_ids).array(message_times).array(endpoint_ids).integer(now_ms);
    if (auto inserted = db.exec(kInsertDeliveries, params); !inserted) {
      return explain(inserted.error(), "delivery", "endpoint");
    }
    if (auto notified = notify(db, pg_deliveries_due_payload(node_id)); !notified) return notified.error();
  }
  return true;
}

}  // namespace

Result<std::optional<std::vector<PublishOutcome>>> publish_pg_batch(PgConnection& db,
                                                                    std::span<const PublishRequest> requests,
                                                                    UnixMillis now_ms, UnixMillis window_ms,
                                                                    std::string_view node_id) {
  const UnixMillis fresh_after = saturating_sub(now_ms, window_ms);
  BatchFacts facts;
  if (auto read = read_facts(db, requests, fresh_after, facts); !read) return read.error();
  BatchPlan plan = decide(requests, fresh_after, facts);
  auto written = write_plan(db, plan, facts, now_ms, node_id);
  if (!written) return written.error();
  if (!*written) return std::optional<std::vector<PublishOutcome>>();
  return std::optional<std::vector<PublishOutcome>>(std::move(plan.outcomes));
}

Result<bool> import_pg_messages(PgConnection& db, std::span<const MessageRecord> records, std::string_view node_id) {
  // 1. Ids: only messages whose id is new are inserted.
  KeyRows ids;
  std::set<KeyRef> seen;
  for (const auto& record : records) {
    const Message& message = record.message;
    if (seen.insert(id_key(message)).second) ids.add(id_key(message), message.id, message.created_at_ms);
  }
  auto inserted_ids = db.query(kImportIds, ids.params());
  if (!inserted_ids) return explain(inserted_ids.error(), "message", "workspace");
  std::set<KeyRef> fresh;
  for (int row = 0; row < inserted_ids->rows(); ++row)
    fresh.insert({inserted_ids->text(row, 0), inserted_ids->text(row, 1)});

  // 2. The new messages, and their producer keys.
  MessageRows messages;
  KeyRows keys;
  for (const auto& record : records) {
    const Message& message = record.message;
    if (!fresh.erase(id_key(message))) continue;
    messages.add(message);
    if (message.idempotency_key) keys.add(producer_key(message), message.id, message.created_at_ms);
  }
  if (messages.ids.size() > 0) {
    if (auto inserted = db.exec(kImportMessages, messages.params()); !inserted) {
      return explain(inserted.error(), "message", "workspace");
    }
  }
  if (keys.workspaces.size() > 0) {
    if (auto inserted = db.exec(kInsertKeys, keys.params()); !inserted) return inserted.error();
  }

  // 3. Deliveries, leases cleared.
  PgArray d_workspaces(pg_type::text), d_ids(pg_type::text), d_messages(pg_type::text), d_message_times(pg_type::int8),
      d_endpoints(pg_type::text), d_states(pg_type::text), d_counts(pg_type::int8), d_next(pg_type::int8),
      d_tokens(pg_type::int8), d_created(pg_type::int8), d_updated(pg_type::int8);
  for (const auto& record : records) {
    for (const auto& delivery : record.deliveries) {
      d_workspaces.text(delivery.workspace_id);
      d_ids.text(delivery.id);
      d_messages.text(delivery.message_id);
      d_message_times.integer(record.message.created_at_ms);
      d_endpoints.text(delivery.endpoint_id);
      d_states.text(delivery_state_name(delivery.state));
      d_counts.integer(delivery.attempt_count);
      d_next.integer(delivery.next_attempt_at_ms);
      d_tokens.integer(delivery.lease_token);
      d_created.integer(delivery.created_at_ms);
      d_updated.integer(delivery.updated_at_ms);
    }
  }
  bool deliveries_inserted = false;
  if (d_ids.size() > 0) {
    PgParams params;
    params.array(d_workspaces)
        .array(d_ids)
        .array(d_messages)
        .array(d_message_times)
        .array(d_endpoints)
        .array(d_states)
        .array(d_counts)
        .array(d_next)
        .array(d_tokens)
        .array(d_created)
        .array(d_updated);
    auto inserted = db.query(kImportDeliveries, params);
    if (!inserted) return explain(inserted.error(), "delivery", "endpoint");
    deliveries_inserted = inserted->rows() > 0;
  }

  // 4. Attempts.
  PgArray a_workspaces(pg_type::text), a_ids(pg_type::text), a_deliveries(pg_type::text), a_messages(pg_type::text),
      a_endpoints(pg_type::text), a_numbers(pg_type::int8), a_started(pg_type::int8), a_latency(pg_type::int8),
      a_urls(pg_type::text), a_request_headers(pg_type::text), a_statuses(pg_type::int8),
      a_response_headers(pg_type::text), a_bodies(pg_type::bytea), a_errors(pg_type::text), a_details(pg_type::text);
  for (const auto& record : records) {
    for (const auto& attempt : record.attempts) {
      a_workspaces.text(attempt.workspace_id);
      a_ids.text(attempt.id);
      a_deliveries.text(attempt.delivery_id);
      a_messages.text(attempt.message_id);
      a_endpoints.text(attempt.endpoint_id);
      a_numbers.integer(attempt.attempt_number);
      a_started.integer(attempt.started_at_ms);
      a_latency.integer(attempt.latency_us);
      a_urls.text(attempt.url);
      a_request_headers.text(encode_headers(attempt.request_headers));
      if (attempt.response_status) {
        a_statuses.integer(*attempt.response_status);
      } else {
        a_statuses.null();
      }
      a_response_headers.text(encode_headers(attempt.response_headers));
      a_bodies.text(attempt.response_body);
      a_errors.text(attempt.error);
      a_details.text(attempt.error_detail);
    }
  }
  if (a_ids.size() > 0) {
    PgParams params;
    params.array(a_workspaces)
        .array(a_ids)
        .array(a_deliveries)
        .array(a_messages)
        .array(a_endpoints)
        .array(a_numbers)
        .array(a_started)
        .array(a_latency)
        .array(a_urls)
        .array(a_request_headers)
        .array(a_statuses)
        .array(a_response_headers)
        .array(a_bodies)
        .array(a_errors)
        .array(a_details);
    auto inserted = db.query(kImportAttempts, params);
    if (!inserted) return explain(inserted.error(), "attempt", "delivery");
    // The attempts inserted now join the statistics; those already there
    // (a copy run again) were counted when they were.
    std::set<KeyRef> new_attempts;
    for (int row = 0; row < inserted->rows(); ++row)
      new_attempts.insert({inserted->text(row, 0), inserted->text(row, 1)});
    AttemptRollup rollup;
    for (const auto& record : records) {
      for (const auto& attempt : record.attempts) {
        if (new_attempts.contains({attempt.workspace_id, attempt.id})) add_to_rollup(rollup, attempt);
      }
    }
    if (auto added = upsert_pg_stats(db, rollup); !added) return added.error();
  }
  if (deliveries_inserted) {
    if (auto notified = notify(db, pg_deliveries_due_payload(node_id)); !notified) return notified.error();
  }
  return deliveries_inserted;
}

}  // namespace ferry
