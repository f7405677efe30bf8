#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "store/postgres_connection.hpp"
#include "store/store.hpp"

namespace ferry {

// Publishes a batch inside the caller's transaction (see Store::publish for
// the outcomes), with a fixed number of multi-row statements whatever the
// batch's size:
//
//  1. lock the batch's workspaces (FOR KEY SHARE: they cannot go away);
//  2. lock the message_keys rows the batch's ids and keys already have
//     (FOR UPDATE, in key order so that two nodes cannot deadlock), and
//     read the earlier messages that may be duplicated;
//  3. lock the target endpoints (FOR SHARE: they cannot be disabled before
//     this commits) and find delivery ids that are taken;
//  4. decide every message in batch order, exactly as SqliteStore does one
//     by one; a refused message leaves no trace;
//  5. insert the new keys (ON CONFLICT DO NOTHING, in key order), take over
//     expired keys, insert the messages and deliveries, and pg_notify when
//     deliveries were created.
//
// Returns nullopt when another process inserted one of the batch's new keys
// after step 2 (the same id or idempotency key published on two nodes at
// once): the caller rolls back and runs the batch again, which then sees
// that key and finds the duplicate.
Result<std::optional<std::vector<PublishOutcome>>> publish_pg_batch(PgConnection& db,
                                                                    std::span<const PublishRequest> requests,
                                                                    UnixMillis now_ms, UnixMillis window_ms,
                                                                    std::string_view node_id);

// Copies messages with their deliveries and attempts verbatim inside the
// caller's transaction (see Store::import_messages). A message whose id is
// already stored is left as it is; deliveries and attempts that exist are
// too. Returns whether deliveries were inserted.
Result<bool> import_pg_messages(PgConnection& db, std::span<const MessageRecord> records, std::string_view node_id);

}  // namespace ferry
