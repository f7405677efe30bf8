// The Store contract, written against the interface only. Each backend joins
// by adding one StoreBackend to the INSTANTIATE at the bottom; the tests at the
// very end (SqliteStoreSchema) are the only ones that know about SQLite, and
// postgres_store_test.cpp holds those that know about PostgreSQL.

#include "store/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres_store.hpp"
#include "store/sqlite_migrations.hpp"
#include "store/sqlite_store.hpp"
#include "unit/postgres_test_support.hpp"
#include "unit/store_test_support.hpp"

namespace ferry {
namespace {

namespace fs = std::filesystem;

constexpr UnixMillis kNow = 1'700'000'000'000;
constexpr UnixMillis kSecond = 1'000;
constexpr UnixMillis kHour = 3'600'000;

// One Store implementation under test. `open` opens the store whose data lives
// under `dir`; opening the same dir again must reach the same data (a server
// backend can derive a database or schema name from it).
struct StoreBackend {
  std::string name;
  std::function<Result<std::unique_ptr<Store>>(const fs::path& dir)> open;
};

// Keeps ctest's test names readable (gtest would print the struct's bytes).
void PrintTo(const StoreBackend& backend, std::ostream* out) { *out << backend.name; }

Result<std::unique_ptr<Store>> open_sqlite(const fs::path& dir) {
  auto store = SqliteStore::open((dir / "ferry.db").string());
  if (!store) return store.error();
  return std::unique_ptr<Store>(std::move(*store));
}

// A database of its own per directory on the test server (see postgres_test_support.hpp).
Result<std::unique_ptr<Store>> open_postgres(const fs::path& dir) {
  auto url = postgres_test_database(dir);
  if (!url) return url.error();
  auto store = PostgresStore::open(PostgresOptions{*url, 4});
  if (!store) return store.error();
  return std::unique_ptr<Store>(std::move(*store));
}

// Ids sort like the real time-ordered ones: a later number is newer.
std::string numbered(std::string_view prefix, int number) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%04d", number);
  return std::string(prefix) + "_" + digits;
}

Workspace make_workspace(const std::string& id) {
  Workspace workspace;
  workspace.id = id;
  workspace.name = "Workspace " + id;
  workspace.created_at_ms = kNow;
  workspace.updated_at_ms = kNow;
  return workspace;
}

Endpoint make_endpoint(const std::string& workspace_id, const std::string& id, bool enabled = true) {
  Endpoint endpoint;
  endpoint.workspace_id = workspace_id;
  endpoint.id = id;
  endpoint.url = "https://receiver.test/" + id;
  endpoint.secrets = {"whsec_c2VjcmV0"};
  endpoint.enabled = enabled;
  endpoint.created_at_ms = kNow;
  endpoint.updated_at_ms = kNow;
  return endpoint;
}

Message make_message(const std::string& workspace_id, const std::string& id, UnixMillis created_at_ms = kNow,
                     const std::string& type = "user.created") {
  Message message;
  message.workspace_id = workspace_id;
  message.id = id;
  message.type = type;
  message.payload = R"({"id":")" + id + R"("})";
  message.created_at_ms = created_at_ms;
  return message;
}

PublishRequest make_request(Message message, std::vector<PublishRequest::Target> targets = {}) {
  return PublishRequest{std::move(message), std::move(targets)};
}

Attempt make_attempt(const Delivery& delivery, const std::string& id, int number, UnixMillis started_at_ms) {
  Attempt attempt;
  attempt.id = id;
  attempt.workspace_id = delivery.workspace_id;
  attempt.delivery_id = delivery.id;
  attempt.message_id = delivery.message_id;
  attempt.endpoint_id = delivery.endpoint_id;
  attempt.attempt_number = number;
  attempt.started_at_ms = started_at_ms;
  attempt.latency_us = 1'500;
  attempt.url = "https://receiver.test/" + delivery.endpoint_id;
  attempt.request_headers = {{"webhook-id", delivery.message_id}, {"content-type", "application/json"}};
  attempt.response_status = 500;
  attempt.response_headers = {{"Content-Type", "text/plain"}};
  attempt.response_body = "oops";
  return attempt;
}

std::vector<std::string> ids_of(const auto& items) {
  std::vector<std::string> ids;
  for (const auto& item : items) ids.push_back(item.id);
  return ids;
}

std::string state_name(DeliveryState state) { return std::string(delivery_state_name(state)); }

class StoreTest : public testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override { open_store(); }

  void open_store() {
    auto opened = GetParam().open(dir_.path());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
  }

  void reopen() {
    store_.reset();
    open_store();
  }

  Store& store() { return *store_; }

  // The record of an attempt made by the delivery's current lease holder.
  AttemptRecord make_record(Attempt attempt, DeliveryState state, UnixMillis next_attempt_at_ms = 0,
                            std::optional<std::string> disable_reason = std::nullopt) {
    auto delivery = store().get_delivery(attempt.workspace_id, attempt.delivery_id);
    const std::int64_t token = delivery ? delivery->lease_token : 0;
    return AttemptRecord{std::move(attempt), token, state, next_attempt_at_ms, std::move(disable_reason)};
  }

  void release(const std::vector<std::pair<std::string, std::string>>& deliveries) {
    std::vector<DeliveryRef> refs;
    for (const auto& [workspace_id, delivery_id] : deliveries) refs.push_back({workspace_id, delivery_id});
    ASSERT_OK(store().release_leases(refs));
  }

  void seed_workspace(const std::string& id) { ASSERT_OK(store().create_workspace(make_workspace(id))); }

  void seed_endpoint(const std::string& workspace_id, const std::string& id, bool enabled = true) {
    ASSERT_OK(store().create_endpoint(make_endpoint(workspace_id, id, enabled)));
  }

  // Publishes one batch that must go through as a whole.
  std::vector<PublishOutcome> publish(const std::vector<PublishRequest>& requests, UnixMillis now_ms = kNow,
                                      UnixMillis window_ms = kHour) {
    auto outcomes = store().publish(requests, now_ms, window_ms);
    EXPECT_TRUE(outcomes.ok()) << outcomes.error().message;
    return outcomes.ok() ? *outcomes : std::vector<PublishOutcome>();
  }

  // Publishes message `id` (created at `now_ms`) with one delivery per target.
  PublishOutcome publish_one(const std::string& workspace_id, const std::string& id,
                             std::vector<PublishRequest::Target> targets, UnixMillis now_ms = kNow) {
    auto outcomes = publish({make_request(make_message(workspace_id, id, now_ms), std::move(targets))}, now_ms);
    EXPECT_EQ(outcomes.size(), 1U);
    return outcomes.empty() ? PublishOutcome() : outcomes.front();
  }

  std::vector<DueDelivery> claim(UnixMillis now_ms, int limit = 100, UnixMillis lease_ms = 30 * kSecond,
                                 const std::vector<std::string>& excluded = {}) {
    auto claimed = store().claim_due_deliveries(now_ms, limit, now_ms + lease_ms, excluded);
    EXPECT_TRUE(claimed.ok()) << claimed.error().message;
    return claimed.ok() ? *claimed : std::vector<DueDelivery>();
  }

  std::string delivery_state(const std::string& workspace_id, const std::string& delivery_id) {
    auto delivery = store().get_delivery(workspace_id, delivery_id);
    if (!delivery) return "error: " + delivery.error().message;
    return state_name(delivery->state);
  }

  // Claims everything due at `now_ms` and records one attempt for each
  // delivery named in `outcomes` with that state (retries due an hour
  // later); the others' leases are released.
  void settle(UnixMillis now_ms, const std::map<std::string, DeliveryState>& outcomes) {
    std::vector<AttemptRecord> records;
    std::vector<DeliveryRef> untouched;
    for (const auto& due : claim(now_ms, 1000)) {
      auto outcome = outcomes.find(due.delivery.id);
      if (outcome == outcomes.end()) {
        untouched.push_back({due.delivery.workspace_id, due.delivery.id});
        continue;
      }
      records.push_back(make_record(
          make_attempt(due.delivery, "att_" + due.delivery.id + "_" + std::to_string(due.delivery.attempt_count + 1),
                       due.delivery.attempt_count + 1, now_ms),
          outcome->second, now_ms + kHour));
    }
    ASSERT_OK(store().record_attempts(records));
    ASSERT_OK(store().release_leases(untouched));
  }

  std::vector<std::string> message_ids(const std::string& workspace_id, MessageQuery query) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 20; ++pages) {
      auto page = store().list_messages(workspace_id, query);
      EXPECT_TRUE(page.ok()) << page.error().message;
      if (!page.ok()) break;
      EXPECT_LE(page->items.size(), static_cast<std::size_t>(query.page.limit));
      for (const auto& message : page->items) ids.push_back(message.id);
      if (!page->next_cursor) break;
      EXPECT_FALSE(page->items.empty());
      query.page.cursor = *page->next_cursor;
    }
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// --- workspaces

TEST_P(StoreTest, WorkspaceCrud) {
  auto created = store().create_workspace(make_workspace("ws_a"));
  ASSERT_OK(created);
  EXPECT_EQ(created->name, "Workspace ws_a");

  auto fetched = store().get_workspace("ws_a");
  ASSERT_OK(fetched);
  EXPECT_EQ(fetched->id, "ws_a");
  EXPECT_EQ(fetched->created_at_ms, kNow);

  EXPECT_ERROR(store().create_workspace(make_workspace("ws_a")), ErrorCode::conflict);

  Workspace renamed = make_workspace("ws_a");
  renamed.name = "Renamed";
  renamed.created_at_ms = kNow + 99;  // immutable: ignored
  renamed.updated_at_ms = kNow + kSecond;
  auto updated = store().update_workspace(renamed);
  ASSERT_OK(updated);
  EXPECT_EQ(updated->name, "Renamed");
  EXPECT_EQ(updated->created_at_ms, kNow);
  EXPECT_EQ(updated->updated_at_ms, kNow + kSecond);
  EXPECT_ERROR(store().update_workspace(make_workspace("ws_missing")), ErrorCode::not_found);

  ASSERT_OK(store().delete_workspace("ws_a"));
  EXPECT_ERROR(store().get_workspace("ws_a"), ErrorCode::not_found);
  EXPECT_ERROR(store().delete_workspace("ws_a"), ErrorCode::not_found);
}

TEST_P(StoreTest, WorkspacesPageNewestFirstWithCursors) {
  for (int i = 1; i <= 7; ++i) seed_workspace(numbered("ws", i));

  auto first = store().list_workspaces({"", 3});
  ASSERT_OK(first);
  EXPECT_EQ(ids_of(first->items), (std::vector<std::string>{"ws_0007", "ws_0006", "ws_0005"}));
  ASSERT_TRUE(first->next_cursor);

  auto second = store().list_workspaces({*first->next_cursor, 3});
  ASSERT_OK(second);
  EXPECT_EQ(ids_of(second->items), (std::vector<std::string>{"ws_0004", "ws_0003", "ws_0002"}));
  ASSERT_TRUE(second->next_cursor);

  auto last = store().list_workspaces({*second->next_cursor, 3});
  ASSERT_OK(last);
  EXPECT_EQ(ids_of(last->items), (std::vector<std::string>{"ws_0001"}));
  EXPECT_FALSE(last->next_cursor);

  // An exactly full last page has no cursor either.
  auto exact = store().list_workspaces({"", 7});
  ASSERT_OK(exact);
  EXPECT_EQ(exact->items.size(), 7U);
  EXPECT_FALSE(exact->next_cursor);
}

TEST_P(StoreTest, PageLimitsAreClamped) {
  for (int i = 1; i <= 3; ++i) seed_workspace(numbered("ws", i));

  auto zero = store().list_workspaces({"", 0});
  ASSERT_OK(zero);
  EXPECT_EQ(zero->items.size(), 1U);
  EXPECT_TRUE(zero->next_cursor);

  auto negative = store().list_workspaces({"", -5});
  ASSERT_OK(negative);
  EXPECT_EQ(negative->items.size(), 1U);

  auto huge = store().list_workspaces({"", 1'000'000});
  ASSERT_OK(huge);
  EXPECT_EQ(huge->items.size(), 3U);
  EXPECT_FALSE(huge->next_cursor);
}

// --- API keys

TEST_P(StoreTest, ApiKeyCrud) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  ApiKey key{"key_1", "ws_a", "deploy", "fk_abc", "hash-1", kNow};
  ASSERT_OK(store().create_api_key(key));

  auto found = store().find_api_key_by_hash("hash-1");
  ASSERT_OK(found);
  EXPECT_EQ(found->id, "key_1");
  EXPECT_EQ(found->workspace_id, "ws_a");
  EXPECT_EQ(found->name, "deploy");
  EXPECT_EQ(found->token_prefix, "fk_abc");
  EXPECT_EQ(found->created_at_ms, kNow);
  EXPECT_ERROR(store().find_api_key_by_hash("hash-unknown"), ErrorCode::not_found);

  EXPECT_ERROR(store().create_api_key(ApiKey{"key_1", "ws_a", "again", "fk_x", "hash-2", kNow}), ErrorCode::conflict);
  EXPECT_ERROR(store().create_api_key(ApiKey{"key_2", "ws_a", "same hash", "fk_x", "hash-1", kNow}),
               ErrorCode::conflict);
  EXPECT_ERROR(store().create_api_key(ApiKey{"key_3", "ws_missing", "x", "fk_x", "hash-3", kNow}),
               ErrorCode::not_found);
  ASSERT_OK(store().create_api_key(ApiKey{"key_4", "ws_a", "second", "fk_y", "hash-4", kNow}));

  auto listed = store().list_api_keys("ws_a");
  ASSERT_OK(listed);
  EXPECT_EQ(ids_of(*listed), (std::vector<std::string>{"key_1", "key_4"}));
  auto other = store().list_api_keys("ws_b");
  ASSERT_OK(other);
  EXPECT_TRUE(other->empty());
  EXPECT_ERROR(store().list_api_keys("ws_missing"), ErrorCode::not_found);

  EXPECT_ERROR(store().delete_api_key("ws_b", "key_1"), ErrorCode::not_found);
  ASSERT_OK(store().delete_api_key("ws_a", "key_1"));
  EXPECT_ERROR(store().find_api_key_by_hash("hash-1"), ErrorCode::not_found);
  EXPECT_ERROR(store().delete_api_key("ws_a", "key_1"), ErrorCode::not_found);
}

// --- endpoints

TEST_P(StoreTest, EndpointRoundTripsEveryField) {
  seed_workspace("ws_a");
  Endpoint endpoint = make_endpoint("ws_a", "ep_1");
  endpoint.description = "orders → fulfilment";
  endpoint.secrets = {"whsec_new", "whsec_old"};
  endpoint.filter_types = {"order.created", "invoice.*"};
  endpoint.profile = "stripe";
  endpoint.headers = {{"X-Team", "core"}, {"X-Env", "prod"}};
  endpoint.rate_limit = 25;
  ASSERT_OK(store().create_endpoint(endpoint));

  auto fetched = store().get_endpoint("ws_a", "ep_1");
  ASSERT_OK(fetched);
  EXPECT_EQ(fetched->url, endpoint.url);
  EXPECT_EQ(fetched->description, endpoint.description);
  EXPECT_EQ(fetched->secrets, endpoint.secrets);
  EXPECT_EQ(fetched->filter_types, endpoint.filter_types);
  EXPECT_EQ(fetched->profile, "stripe");
  EXPECT_EQ(fetched->headers, endpoint.headers);
  EXPECT_EQ(fetched->rate_limit, 25);
  EXPECT_TRUE(fetched->enabled);
  EXPECT_EQ(fetched->disabled_reason, "");
  EXPECT_EQ(fetched->created_at_ms, kNow);

  // Empty lists and no rate limit stay that way.
  ASSERT_OK(store().create_endpoint(make_endpoint("ws_a", "ep_2")));
  auto plain = store().get_endpoint("ws_a", "ep_2");
  ASSERT_OK(plain);
  EXPECT_TRUE(plain->filter_types.empty());
  EXPECT_TRUE(plain->headers.empty());
  EXPECT_FALSE(plain->rate_limit);
}

TEST_P(StoreTest, EndpointCrud) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  seed_endpoint("ws_a", "ep_1");
  EXPECT_ERROR(store().create_endpoint(make_endpoint("ws_a", "ep_1")), ErrorCode::conflict);
  EXPECT_ERROR(store().create_endpoint(make_endpoint("ws_missing", "ep_9")), ErrorCode::not_found);

  Endpoint changed = make_endpoint("ws_a", "ep_1");
  changed.url = "https://elsewhere.test/hook";
  changed.secrets = {"whsec_rotated", "whsec_c2VjcmV0"};
  changed.filter_types = {"*"};
  changed.rate_limit = 3;
  changed.updated_at_ms = kNow + kSecond;
  auto updated = store().update_endpoint(changed);
  ASSERT_OK(updated);
  EXPECT_EQ(updated->url, "https://elsewhere.test/hook");
  EXPECT_EQ(updated->secrets, changed.secrets);
  EXPECT_EQ(updated->rate_limit, 3);
  EXPECT_EQ(updated->updated_at_ms, kNow + kSecond);
  EXPECT_EQ(store().get_endpoint("ws_a", "ep_1")->url, "https://elsewhere.test/hook");
  EXPECT_ERROR(store().update_endpoint(make_endpoint("ws_a", "ep_missing")), ErrorCode::not_found);

  seed_endpoint("ws_b", "ep_2");
  auto all = store().list_all_endpoints();
  ASSERT_OK(all);
  EXPECT_EQ(ids_of(*all), (std::vector<std::string>{"ep_1", "ep_2"}));

  ASSERT_OK(store().delete_endpoint("ws_a", "ep_1"));
  EXPECT_ERROR(store().get_endpoint("ws_a", "ep_1"), ErrorCode::not_found);
  EXPECT_ERROR(store().delete_endpoint("ws_a", "ep_1"), ErrorCode::not_found);
}

TEST_P(StoreTest, EndpointsPage) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  for (int i = 1; i <= 5; ++i) seed_endpoint("ws_a", numbered("ep", i));
  seed_endpoint("ws_b", "ep_9999");

  std::vector<std::string> seen;
  PageRequest request{"", 2};
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store().list_endpoints("ws_a", request);
    ASSERT_OK(page);
    for (const auto& endpoint : page->items) seen.push_back(endpoint.id);
    if (!page->next_cursor) break;
    request.cursor = *page->next_cursor;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"ep_0005", "ep_0004", "ep_0003", "ep_0002", "ep_0001"}));
  EXPECT_ERROR(store().list_endpoints("ws_missing", {}), ErrorCode::not_found);
}

// --- event types

TEST_P(StoreTest, EventTypesUpsert) {
  EventType type;
  type.name = "order.created";
  type.group = "order";
  type.description = "An order was placed";
  type.schema_json = R"({"type":"object"})";
  type.examples_json = {R"({"id":1})", R"({"id":2})"};
  type.flags = {"PASSIVE"};
  type.created_at_ms = kNow;
  type.updated_at_ms = kNow;
  ASSERT_OK(store().upsert_event_type(type));

  EventType changed = type;
  changed.description = "An order was placed or imported";
  changed.flags = {"deprecated"};
  changed.archived = true;
  changed.created_at_ms = kNow + kHour;  // the first registration's time is kept
  changed.updated_at_ms = kNow + kHour;
  auto upserted = store().upsert_event_type(changed);
  ASSERT_OK(upserted);
  EXPECT_EQ(upserted->description, changed.description);
  EXPECT_EQ(upserted->created_at_ms, kNow);
  EXPECT_EQ(upserted->updated_at_ms, kNow + kHour);

  auto fetched = store().get_event_type("", "order.created");
  ASSERT_OK(fetched);
  EXPECT_EQ(fetched->group, "order");
  EXPECT_EQ(fetched->schema_json, type.schema_json);
  EXPECT_EQ(fetched->examples_json, type.examples_json);
  EXPECT_EQ(fetched->flags, (std::vector<std::string>{"deprecated"}));
  EXPECT_TRUE(fetched->archived);
  EXPECT_ERROR(store().get_event_type("", "order.missing"), ErrorCode::not_found);

  EventType other = type;
  other.name = "account.closed";
  ASSERT_OK(store().upsert_event_type(other));
  // The same name in another catalog is another type.
  EventType shop = type;
  shop.catalog = "shop";
  shop.description = "A shop's order";
  ASSERT_OK(store().upsert_event_type(shop));
  EXPECT_ERROR(store().get_event_type("shop", "account.closed"), ErrorCode::not_found);
  auto all = store().list_event_types();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3U);
  EXPECT_EQ((*all)[0].name, "account.closed");
  EXPECT_EQ((*all)[1].name, "order.created");
  EXPECT_EQ((*all)[1].description, changed.description);
  EXPECT_EQ((*all)[2].catalog, "shop");
  EXPECT_EQ((*all)[2].description, "A shop's order");
}

TEST_P(StoreTest, CatalogsUpsertKeepTheirFirstLoadTime) {
  CatalogDocument catalog{"shop", R"({"catalog":"shop","title":"Shop"})", kNow, kNow};
  ASSERT_OK(store().upsert_catalog(catalog));
  EXPECT_ERROR(store().get_catalog("other"), ErrorCode::not_found);
  catalog.document_json = R"({"catalog":"shop","title":"Shop v2"})";
  catalog.created_at_ms = catalog.updated_at_ms = kNow + kHour;
  auto saved = store().upsert_catalog(catalog);
  ASSERT_OK(saved);
  EXPECT_EQ(saved->created_at_ms, kNow);
  EXPECT_EQ(saved->updated_at_ms, kNow + kHour);
  ASSERT_OK(store().upsert_catalog(CatalogDocument{"blog", "{}", kNow, kNow}));
  auto all = store().list_catalogs();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2U);
  EXPECT_EQ((*all)[0].name, "blog");
  EXPECT_EQ((*all)[1].document_json, catalog.document_json);
  auto empty = store().is_empty();
  ASSERT_OK(empty);
  EXPECT_FALSE(*empty);
}

TEST_P(StoreTest, WorkspaceSettingsAndMessageFlagsRoundTrip) {
  Workspace workspace = make_workspace("ws_settings");
  workspace.catalog = "shop";
  workspace.profile = "penguinmails";
  workspace.validate_payloads = false;
  workspace.test_mode = true;
  ASSERT_OK(store().create_workspace(workspace));
  auto fetched = store().get_workspace("ws_settings");
  ASSERT_OK(fetched);
  EXPECT_EQ(fetched->catalog, "shop");
  EXPECT_EQ(fetched->profile, "penguinmails");
  EXPECT_FALSE(fetched->validate_payloads);
  EXPECT_TRUE(fetched->test_mode);

  workspace.catalog = "";
  workspace.profile = "";
  workspace.validate_payloads = true;
  workspace.test_mode = false;
  ASSERT_OK(store().update_workspace(workspace));
  fetched = store().get_workspace("ws_settings");
  ASSERT_OK(fetched);
  EXPECT_EQ(fetched->catalog, "");
  EXPECT_TRUE(fetched->validate_payloads);
  EXPECT_FALSE(fetched->test_mode);

  Message message = make_message("ws_settings", "msg_flagged");
  message.flags = {"PASSIVE", "with \"quote\""};
  std::vector<PublishRequest> batch{make_request(message)};
  ASSERT_OK(store().publish(batch, kNow, kHour));
  auto stored = store().get_message("ws_settings", "msg_flagged");
  ASSERT_OK(stored);
  EXPECT_EQ(stored->flags, message.flags);
  Message plain = make_message("ws_settings", "msg_plain");
  std::vector<PublishRequest> second{make_request(plain)};
  ASSERT_OK(store().publish(second, kNow, kHour));
  stored = store().get_message("ws_settings", "msg_plain");
  ASSERT_OK(stored);
  EXPECT_TRUE(stored->flags.empty());
}

// --- workspace isolation

TEST_P(StoreTest, RowsOfAnotherWorkspaceAreNotFound) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  seed_endpoint("ws_a", "ep_a");
  ASSERT_OK(store().create_api_key(ApiKey{"key_a", "ws_a", "k", "fk", "hash-a", kNow}));
  publish_one("ws_a", "msg_a", {{"ep_a", "dlv_a"}});
  auto claimed = claim(kNow);
  ASSERT_EQ(claimed.size(), 1U);
  ASSERT_OK(store().record_attempts(
      std::vector{make_record(make_attempt(claimed[0].delivery, "att_a", 1, kNow), DeliveryState::failed)}));

  EXPECT_ERROR(store().get_endpoint("ws_b", "ep_a"), ErrorCode::not_found);
  Endpoint foreign = make_endpoint("ws_b", "ep_a");
  EXPECT_ERROR(store().update_endpoint(foreign), ErrorCode::not_found);
  EXPECT_ERROR(store().delete_endpoint("ws_b", "ep_a"), ErrorCode::not_found);
  EXPECT_ERROR(store().delete_api_key("ws_b", "key_a"), ErrorCode::not_found);
  EXPECT_ERROR(store().get_message("ws_b", "msg_a"), ErrorCode::not_found);
  EXPECT_ERROR(store().get_delivery("ws_b", "dlv_a"), ErrorCode::not_found);
  EXPECT_ERROR(store().resend_delivery("ws_b", "dlv_a", kNow), ErrorCode::not_found);
  EXPECT_ERROR(store().list_deliveries_for_message("ws_b", "msg_a"), ErrorCode::not_found);
  EXPECT_ERROR(store().list_deliveries_for_endpoint("ws_b", "ep_a", {}), ErrorCode::not_found);
  EXPECT_ERROR(store().list_attempts_for_message("ws_b", "msg_a"), ErrorCode::not_found);
  EXPECT_ERROR(store().list_attempts_for_delivery("ws_b", "dlv_a"), ErrorCode::not_found);
  EXPECT_ERROR(store().list_attempts_for_endpoint("ws_b", "ep_a", {}), ErrorCode::not_found);

  auto endpoints = store().list_endpoints("ws_b", {});
  ASSERT_OK(endpoints);
  EXPECT_TRUE(endpoints->items.empty());
  auto messages = store().list_messages("ws_b", {});
  ASSERT_OK(messages);
  EXPECT_TRUE(messages->items.empty());
  auto keys = store().list_api_keys("ws_b");
  ASSERT_OK(keys);
  EXPECT_TRUE(keys->empty());

  // Nothing of ws_a was touched by the refused calls.
  EXPECT_EQ(store().get_endpoint("ws_a", "ep_a")->url, make_endpoint("ws_a", "ep_a").url);
  EXPECT_EQ(delivery_state("ws_a", "dlv_a"), "failed");
  EXPECT_EQ(store().list_attempts_for_message("ws_a", "msg_a")->size(), 1U);

  // The same ids may exist independently in another workspace.
  seed_endpoint("ws_b", "ep_a");
  EXPECT_EQ(publish_one("ws_b", "msg_a", {{"ep_a", "dlv_a"}}).deliveries_created, 1);
  EXPECT_EQ(delivery_state("ws_b", "dlv_a"), "pending");
  EXPECT_EQ(delivery_state("ws_a", "dlv_a"), "failed");
}

// --- messages

TEST_P(StoreTest, MessageIsKeptVerbatim) {
  seed_workspace("ws_a");
  Message message = make_message("ws_a", "msg_1");
  message.payload = std::string("{\"bytes\":\"\xff\0\x01\"}", 15);
  message.idempotency_key = "order-42";
  message.test = true;
  Message empty = make_message("ws_a", "msg_2");
  empty.payload.clear();
  publish({make_request(message), make_request(empty)});

  auto fetched = store().get_message("ws_a", "msg_1");
  ASSERT_OK(fetched);
  EXPECT_EQ(fetched->payload, message.payload);
  EXPECT_EQ(fetched->type, "user.created");
  EXPECT_EQ(fetched->created_at_ms, kNow);
  EXPECT_EQ(fetched->idempotency_key, "order-42");
  EXPECT_TRUE(fetched->test);

  auto fetched_empty = store().get_message("ws_a", "msg_2");
  ASSERT_OK(fetched_empty);
  EXPECT_EQ(fetched_empty->payload, "");
  EXPECT_FALSE(fetched_empty->idempotency_key);
  EXPECT_FALSE(fetched_empty->test);
  EXPECT_ERROR(store().get_message("ws_a", "msg_missing"), ErrorCode::not_found);
}

TEST_P(StoreTest, MessagesFilterByTypeAndTimeAndPage) {
  seed_workspace("ws_a");
  std::vector<PublishRequest> requests;
  for (int i = 1; i <= 9; ++i) {
    // Created a second apart; every third one is an order.
    const std::string type = i % 3 == 0 ? "order.created" : "user.created";
    requests.push_back(make_request(make_message("ws_a", numbered("msg", i), kNow + i * kSecond, type)));
  }
  publish(requests, kNow + 10 * kSecond);

  MessageQuery by_type;
  by_type.type = "order.created";
  auto orders = store().list_messages("ws_a", by_type);
  ASSERT_OK(orders);
  EXPECT_EQ(ids_of(orders->items), (std::vector<std::string>{"msg_0009", "msg_0006", "msg_0003"}));

  MessageQuery window;
  window.since_ms = kNow + 3 * kSecond;  // inclusive
  window.until_ms = kNow + 7 * kSecond;  // exclusive
  auto in_window = store().list_messages("ws_a", window);
  ASSERT_OK(in_window);
  EXPECT_EQ(ids_of(in_window->items), (std::vector<std::string>{"msg_0006", "msg_0005", "msg_0004", "msg_0003"}));

  // Filters and cursors together, over several pages.
  MessageQuery paged;
  paged.type = "user.created";
  paged.since_ms = kNow + 2 * kSecond;
  paged.page.limit = 2;
  std::vector<std::string> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store().list_messages("ws_a", paged);
    ASSERT_OK(page);
    for (const auto& message : page->items) seen.push_back(message.id);
    if (!page->next_cursor) break;
    paged.page.cursor = *page->next_cursor;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"msg_0008", "msg_0007", "msg_0005", "msg_0004", "msg_0002"}));

  EXPECT_ERROR(store().list_messages("ws_missing", {}), ErrorCode::not_found);
}

// --- publishing

TEST_P(StoreTest, PublishCreatesDeliveriesOnlyForEnabledExistingEndpoints) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  seed_endpoint("ws_a", "ep_on");
  seed_endpoint("ws_a", "ep_off", /*enabled=*/false);
  seed_endpoint("ws_b", "ep_elsewhere");

  auto outcome = publish_one(
      "ws_a", "msg_1", {{"ep_on", "dlv_1"}, {"ep_off", "dlv_2"}, {"ep_gone", "dlv_3"}, {"ep_elsewhere", "dlv_4"}});
  EXPECT_FALSE(outcome.error);
  EXPECT_FALSE(outcome.duplicate);
  EXPECT_EQ(outcome.deliveries_created, 1);
  EXPECT_EQ(outcome.message.id, "msg_1");

  auto deliveries = store().list_deliveries_for_message("ws_a", "msg_1");
  ASSERT_OK(deliveries);
  ASSERT_EQ(deliveries->size(), 1U);
  const Delivery& delivery = deliveries->front();
  EXPECT_EQ(delivery.id, "dlv_1");
  EXPECT_EQ(delivery.endpoint_id, "ep_on");
  EXPECT_EQ(state_name(delivery.state), "pending");
  EXPECT_EQ(delivery.attempt_count, 0);
  EXPECT_EQ(delivery.next_attempt_at_ms, kNow);
  EXPECT_EQ(delivery.created_at_ms, kNow);
  EXPECT_ERROR(store().get_delivery("ws_a", "dlv_2"), ErrorCode::not_found);

  // A message without targets is stored with no deliveries.
  EXPECT_EQ(publish_one("ws_a", "msg_2", {}).deliveries_created, 0);
  auto none = store().list_deliveries_for_message("ws_a", "msg_2");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreTest, PublishRefusesOneMessageAndStoresTheRest) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  auto outcomes = publish({make_request(make_message("ws_a", "msg_1"), {{"ep_1", "dlv_1"}}),
                           make_request(make_message("ws_missing", "msg_2"), {{"ep_1", "dlv_2"}}),
                           make_request(make_message("ws_a", "msg_3"), {{"ep_1", "dlv_3"}})});
  ASSERT_EQ(outcomes.size(), 3U);
  EXPECT_FALSE(outcomes[0].error);
  ASSERT_TRUE(outcomes[1].error);
  EXPECT_STREQ(error_code_name(outcomes[1].error->code), "not_found");
  EXPECT_EQ(outcomes[1].deliveries_created, 0);
  EXPECT_FALSE(outcomes[2].error);
  EXPECT_EQ(outcomes[2].deliveries_created, 1);

  ASSERT_OK(store().get_message("ws_a", "msg_1"));
  ASSERT_OK(store().get_message("ws_a", "msg_3"));
  EXPECT_EQ(delivery_state("ws_a", "dlv_3"), "pending");
}

TEST_P(StoreTest, RefusedMessageLeavesNoTrace) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_2");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}});
  Message stale = make_message("ws_a", "msg_0", kNow - 2 * kHour);
  stale.idempotency_key = "k";
  publish({make_request(stale)}, kNow - 2 * kHour);

  // msg_2 takes over the stale key and gets one delivery before its second
  // delivery id clashes: all of that must be undone, and msg_3 still lands.
  Message clashing = make_message("ws_a", "msg_2");
  clashing.idempotency_key = "k";
  auto outcomes = publish({make_request(clashing, {{"ep_2", "dlv_2"}, {"ep_1", "dlv_1"}}),
                           make_request(make_message("ws_a", "msg_3"), {{"ep_2", "dlv_3"}})});
  ASSERT_EQ(outcomes.size(), 2U);
  ASSERT_TRUE(outcomes[0].error);
  EXPECT_STREQ(error_code_name(outcomes[0].error->code), "conflict");
  EXPECT_FALSE(outcomes[1].error);

  EXPECT_ERROR(store().get_message("ws_a", "msg_2"), ErrorCode::not_found);
  EXPECT_ERROR(store().get_delivery("ws_a", "dlv_2"), ErrorCode::not_found);
  EXPECT_EQ(store().get_message("ws_a", "msg_0")->idempotency_key, "k");
  EXPECT_EQ(delivery_state("ws_a", "dlv_3"), "pending");
}

TEST_P(StoreTest, IdempotencyKeyWithinWindowReturnsEarlierMessage) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  Message first = make_message("ws_a", "msg_1", kNow);
  first.idempotency_key = "order-42";
  publish({make_request(first, {{"ep_1", "dlv_1"}})}, kNow);

  Message retry = make_message("ws_a", "msg_2", kNow + kHour - 1);
  retry.idempotency_key = "order-42";
  auto outcomes = publish({make_request(retry, {{"ep_1", "dlv_2"}})}, kNow + kHour - 1, kHour);
  ASSERT_EQ(outcomes.size(), 1U);
  EXPECT_TRUE(outcomes[0].duplicate);
  EXPECT_FALSE(outcomes[0].error);
  EXPECT_EQ(outcomes[0].message.id, "msg_1");
  EXPECT_EQ(outcomes[0].message.created_at_ms, kNow);
  EXPECT_EQ(outcomes[0].deliveries_created, 0);
  EXPECT_ERROR(store().get_message("ws_a", "msg_2"), ErrorCode::not_found);
  EXPECT_ERROR(store().get_delivery("ws_a", "dlv_2"), ErrorCode::not_found);
}

TEST_P(StoreTest, IdempotencyKeyAfterWindowStoresNewMessage) {
  seed_workspace("ws_a");
  Message first = make_message("ws_a", "msg_1", kNow);
  first.idempotency_key = "order-42";
  publish({make_request(first)}, kNow);

  // Exactly one window later the earlier message no longer counts.
  Message later = make_message("ws_a", "msg_2", kNow + kHour);
  later.idempotency_key = "order-42";
  auto outcomes = publish({make_request(later)}, kNow + kHour, kHour);
  ASSERT_EQ(outcomes.size(), 1U);
  EXPECT_FALSE(outcomes[0].duplicate);
  EXPECT_FALSE(outcomes[0].error);
  EXPECT_EQ(outcomes[0].message.id, "msg_2");

  auto old = store().get_message("ws_a", "msg_1");
  ASSERT_OK(old);
  EXPECT_FALSE(old->idempotency_key);  // handed over to the new message
  EXPECT_EQ(store().get_message("ws_a", "msg_2")->idempotency_key, "order-42");

  // And the key now dedupes against the new message.
  Message again = make_message("ws_a", "msg_3", kNow + kHour + 1);
  again.idempotency_key = "order-42";
  auto repeat = publish({make_request(again)}, kNow + kHour + 1, kHour);
  ASSERT_EQ(repeat.size(), 1U);
  EXPECT_TRUE(repeat[0].duplicate);
  EXPECT_EQ(repeat[0].message.id, "msg_2");
}

TEST_P(StoreTest, SameIdWithinWindowIsDuplicate) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow);

  Message again = make_message("ws_a", "msg_1", kNow + kSecond);
  again.payload = R"({"changed":true})";
  auto outcomes = publish({make_request(again, {{"ep_1", "dlv_2"}})}, kNow + kSecond, kHour);
  ASSERT_EQ(outcomes.size(), 1U);
  EXPECT_TRUE(outcomes[0].duplicate);
  EXPECT_EQ(outcomes[0].message.payload, make_message("ws_a", "msg_1").payload);
  EXPECT_EQ(outcomes[0].deliveries_created, 0);
  EXPECT_EQ(store().list_deliveries_for_message("ws_a", "msg_1")->size(), 1U);

  // An id reused with a fresh idempotency key is still the same message.
  Message keyed = make_message("ws_a", "msg_1", kNow + kSecond);
  keyed.idempotency_key = "new-key";
  auto by_id = publish({make_request(keyed)}, kNow + kSecond, kHour);
  ASSERT_EQ(by_id.size(), 1U);
  EXPECT_TRUE(by_id[0].duplicate);
  EXPECT_EQ(by_id[0].message.id, "msg_1");
  EXPECT_FALSE(store().get_message("ws_a", "msg_1")->idempotency_key);
}

TEST_P(StoreTest, SameIdAfterWindowIsConflict) {
  seed_workspace("ws_a");
  publish_one("ws_a", "msg_1", {}, kNow);

  auto outcomes = publish({make_request(make_message("ws_a", "msg_1", kNow + 2 * kHour)),
                           make_request(make_message("ws_a", "msg_2", kNow + 2 * kHour))},
                          kNow + 2 * kHour, kHour);
  ASSERT_EQ(outcomes.size(), 2U);
  ASSERT_TRUE(outcomes[0].error);
  EXPECT_STREQ(error_code_name(outcomes[0].error->code), "conflict");
  EXPECT_FALSE(outcomes[0].duplicate);
  EXPECT_FALSE(outcomes[1].error);  // the rest of the batch still lands
  EXPECT_EQ(store().get_message("ws_a", "msg_1")->created_at_ms, kNow);
  ASSERT_OK(store().get_message("ws_a", "msg_2"));
}

TEST_P(StoreTest, DuplicatesWithinOneBatch) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  Message first = make_message("ws_a", "msg_1");
  first.idempotency_key = "k";
  Message second = make_message("ws_a", "msg_2");
  second.idempotency_key = "k";
  auto outcomes = publish({make_request(first, {{"ep_1", "dlv_1"}}), make_request(second, {{"ep_1", "dlv_2"}}),
                           make_request(make_message("ws_a", "msg_1"), {{"ep_1", "dlv_3"}})});
  ASSERT_EQ(outcomes.size(), 3U);
  EXPECT_FALSE(outcomes[0].duplicate);
  EXPECT_EQ(outcomes[0].deliveries_created, 1);
  EXPECT_TRUE(outcomes[1].duplicate);
  EXPECT_EQ(outcomes[1].message.id, "msg_1");
  EXPECT_TRUE(outcomes[2].duplicate);
  EXPECT_EQ(store().list_deliveries_for_message("ws_a", "msg_1")->size(), 1U);
}

TEST_P(StoreTest, IdempotencyIsPerWorkspace) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  Message in_a = make_message("ws_a", "msg_1");
  in_a.idempotency_key = "shared";
  Message in_b = make_message("ws_b", "msg_2");
  in_b.idempotency_key = "shared";
  auto outcomes = publish({make_request(in_a), make_request(in_b)});
  ASSERT_EQ(outcomes.size(), 2U);
  EXPECT_FALSE(outcomes[0].duplicate);
  EXPECT_FALSE(outcomes[1].duplicate);
  ASSERT_OK(store().get_message("ws_b", "msg_2"));
}

TEST_P(StoreTest, ConcurrentPublishesAllLand) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  constexpr int kThreads = 6;
  constexpr int kBatches = 20;
  constexpr int kBatchSize = 4;
  std::atomic<int> failures{0};
  std::atomic<bool> publishing{true};

  // Readers run alongside: they must neither fail nor block the writers.
  std::thread reader([&] {
    while (publishing.load()) {
      if (!store().list_messages("ws_a", {}).ok() || !store().get_endpoint("ws_a", "ep_1").ok()) ++failures;
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<PublishRequest> batch;
        for (int i = 0; i < kBatchSize; ++i) {
          const int n = (t * kBatches + b) * kBatchSize + i;
          batch.push_back(make_request(make_message("ws_a", numbered("msg", n)), {{"ep_1", numbered("dlv", n)}}));
        }
        auto outcomes = store().publish(batch, kNow, kHour);
        if (!outcomes.ok()) {
          ++failures;
          continue;
        }
        for (const auto& outcome : *outcomes) {
          if (outcome.error || outcome.duplicate || outcome.deliveries_created != 1) ++failures;
        }
      }
    });
  }
  for (auto& writer : writers) writer.join();
  publishing = false;
  reader.join();
  EXPECT_EQ(failures.load(), 0);

  MessageQuery all;
  all.page.limit = 1000;
  auto messages = store().list_messages("ws_a", all);
  ASSERT_OK(messages);
  EXPECT_EQ(messages->items.size(), static_cast<std::size_t>(kThreads * kBatches * kBatchSize));
  auto deliveries = store().list_deliveries_for_endpoint("ws_a", "ep_1", {{"", 1000}, {}});
  ASSERT_OK(deliveries);
  EXPECT_EQ(deliveries->items.size(), static_cast<std::size_t>(kThreads * kBatches * kBatchSize));
}

// --- claiming

TEST_P(StoreTest, ClaimReturnsOldestDueFirstWithMessageAndEndpoint) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow + 2);
  publish_one("ws_a", "msg_2", {{"ep_1", "dlv_2"}}, kNow + 1);
  publish_one("ws_a", "msg_3", {{"ep_1", "dlv_3"}}, kNow);

  auto first = claim(kNow + 10, /*limit=*/2);
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(first[0].delivery.id, "dlv_3");
  EXPECT_EQ(first[1].delivery.id, "dlv_2");
  EXPECT_EQ(first[0].message.id, "msg_3");
  EXPECT_EQ(first[0].message.payload, make_message("ws_a", "msg_3").payload);
  EXPECT_EQ(first[0].endpoint.id, "ep_1");
  EXPECT_EQ(first[0].endpoint.url, make_endpoint("ws_a", "ep_1").url);
  EXPECT_EQ(first[0].endpoint.secrets, make_endpoint("ws_a", "ep_1").secrets);

  auto rest = claim(kNow + 10);
  ASSERT_EQ(rest.size(), 1U);
  EXPECT_EQ(rest[0].delivery.id, "dlv_1");

  // A limit below 1 still claims one.
  release({{"ws_a", "dlv_1"}});
  EXPECT_EQ(claim(kNow + 10, /*limit=*/0).size(), 1U);
}

TEST_P(StoreTest, CountsOpenDeliveriesDueNowAndLaterUpToALimit) {
  const auto counts = [this](UnixMillis now_ms, std::int64_t limit) {
    auto counted = store().count_open_deliveries(now_ms, limit);
    EXPECT_TRUE(counted.ok()) << counted.error().message;
    return counted.ok() ? std::pair{counted->due, counted->later} : std::pair<std::int64_t, std::int64_t>{-1, -1};
  };
  EXPECT_EQ(counts(kNow, 100), (std::pair<std::int64_t, std::int64_t>{0, 0}));
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  seed_workspace("ws_b");
  seed_endpoint("ws_b", "ep_2");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow);
  publish_one("ws_a", "msg_2", {{"ep_1", "dlv_2"}}, kNow + 1);
  publish_one("ws_b", "msg_3", {{"ep_2", "dlv_3"}}, kNow + 2);
  publish_one("ws_b", "msg_4", {{"ep_2", "dlv_4"}}, kNow + 3);
  EXPECT_EQ(counts(kNow + 10, 100), (std::pair<std::int64_t, std::int64_t>{4, 0}));
  EXPECT_EQ(counts(kNow + 1, 100), (std::pair<std::int64_t, std::int64_t>{2, 2}));  // due at exactly then counts as due
  EXPECT_EQ(counts(kNow + 10, 3), (std::pair<std::int64_t, std::int64_t>{3, 0}));   // at least 3
  EXPECT_EQ(counts(kNow - 1, 2), (std::pair<std::int64_t, std::int64_t>{0, 2}));

  // Claimed ones are still open; finished ones are not; a retry is due later.
  auto claimed = claim(kNow + 10, 3);
  ASSERT_EQ(claimed.size(), 3U);
  EXPECT_EQ(counts(kNow + 10, 100), (std::pair<std::int64_t, std::int64_t>{4, 0}));
  ASSERT_OK(store().record_attempts(std::vector{
      make_record(make_attempt(claimed[0].delivery, "att_1", 1, kNow + 10), DeliveryState::succeeded),
      make_record(make_attempt(claimed[1].delivery, "att_2", 1, kNow + 10), DeliveryState::failed),
      make_record(make_attempt(claimed[2].delivery, "att_3", 1, kNow + 10), DeliveryState::retrying, kNow + kHour)}));
  EXPECT_EQ(counts(kNow + 10, 100), (std::pair<std::int64_t, std::int64_t>{1, 1}));
}

TEST_P(StoreTest, ClaimRespectsDueTime) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow);

  EXPECT_TRUE(claim(kNow - 1).empty());
  auto due = claim(kNow);  // due at exactly next_attempt_at
  ASSERT_EQ(due.size(), 1U);
  EXPECT_EQ(due[0].delivery.id, "dlv_1");
}

TEST_P(StoreTest, ClaimRespectsLease) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow);

  ASSERT_EQ(claim(kNow, 10, /*lease_ms=*/kSecond).size(), 1U);
  EXPECT_TRUE(claim(kNow + 1).empty());
  EXPECT_TRUE(claim(kNow + kSecond - 1).empty());
  // An expired lease is as good as none: the claimer is presumed dead.
  auto again = claim(kNow + kSecond);
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].delivery.id, "dlv_1");
}

TEST_P(StoreTest, ClaimSkipsExcludedAndDisabledEndpoints) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_busy");
  seed_endpoint("ws_a", "ep_free");
  seed_endpoint("ws_a", "ep_off");
  publish_one("ws_a", "msg_1", {{"ep_busy", "dlv_1"}, {"ep_free", "dlv_2"}, {"ep_off", "dlv_3"}}, kNow);

  // Disabling fails dlv_3; a resend makes it open again on a disabled endpoint.
  Endpoint off = make_endpoint("ws_a", "ep_off", /*enabled=*/false);
  ASSERT_OK(store().update_endpoint(off));
  ASSERT_OK(store().resend_delivery("ws_a", "dlv_3", kNow));
  EXPECT_EQ(delivery_state("ws_a", "dlv_3"), "pending");

  auto claimed = claim(kNow, 10, 30 * kSecond, {"ep_busy"});
  ASSERT_EQ(claimed.size(), 1U);
  EXPECT_EQ(claimed[0].delivery.id, "dlv_2");

  // Excluded endpoints stay claimable by a caller that does not exclude them.
  auto busy = claim(kNow);
  ASSERT_EQ(busy.size(), 1U);
  EXPECT_EQ(busy[0].delivery.id, "dlv_1");
}

// An excluded endpoint's backlog, due before everything else and far longer
// than the claim, neither hides the other endpoints' due work nor changes its
// order; leased deliveries and those not yet due stay out.
TEST_P(StoreTest, ClaimFindsOthersBehindALongExcludedBacklog) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  seed_endpoint("ws_a", "ep_busy");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_b", "ep_2");
  std::vector<PublishRequest> backlog;
  for (int i = 0; i < 60; ++i) {
    const std::string n = std::to_string(100 + i);
    backlog.push_back(make_request(make_message("ws_a", "msg_busy_" + n, kNow), {{"ep_busy", "dlv_busy_" + n}}));
  }
  publish(backlog, kNow);
  publish_one("ws_b", "msg_4", {{"ep_2", "dlv_4"}}, kNow + 4);
  publish_one("ws_a", "msg_2", {{"ep_1", "dlv_2"}}, kNow + 2);
  publish_one("ws_b", "msg_3", {{"ep_2", "dlv_3"}}, kNow + 3);
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow + 1);
  publish_one("ws_a", "msg_late", {{"ep_1", "dlv_late"}}, kNow + kHour);
  ASSERT_EQ(store().claim_deliveries(std::vector<DeliveryRef>{{"ws_b", "dlv_4"}}, kNow + 10, kNow + kHour)->size(), 1U);

  const std::vector<std::string> busy = {"ep_busy"};
  auto first = claim(kNow + 10, /*limit=*/2, 30 * kSecond, busy);
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(first[0].delivery.id, "dlv_1");
  EXPECT_EQ(first[1].delivery.id, "dlv_2");
  EXPECT_EQ(first[0].message.id, "msg_1");
  EXPECT_EQ(first[0].endpoint.id, "ep_1");
  auto rest = claim(kNow + 10, /*limit=*/2, 30 * kSecond, busy);
  ASSERT_EQ(rest.size(), 1U);
  EXPECT_EQ(rest[0].delivery.id, "dlv_3");
  EXPECT_EQ(rest[0].endpoint.workspace_id, "ws_b");
  EXPECT_TRUE(claim(kNow + 10, /*limit=*/2, 30 * kSecond, busy).empty());
  EXPECT_EQ(claim(kNow + 10, /*limit=*/100).size(), 60U);
}

TEST_P(StoreTest, ClaimByKeyTakesOnlyWhatIsStillDueAndFree) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_off");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}, {"ep_off", "dlv_off"}}, kNow);
  publish_one("ws_a", "msg_2", {{"ep_1", "dlv_2"}}, kNow);
  publish_one("ws_a", "msg_later", {{"ep_1", "dlv_later"}}, kNow + kSecond);
  ASSERT_OK(store().update_endpoint(make_endpoint("ws_a", "ep_off", /*enabled=*/false)));
  ASSERT_OK(store().resend_delivery("ws_a", "dlv_off", kNow));
  ASSERT_EQ(claim(kNow, /*limit=*/1).size(), 1U);  // dlv_1 or dlv_2, now leased

  const std::vector<DeliveryRef> refs{{"ws_a", "dlv_1"},   {"ws_a", "dlv_2"},   {"ws_a", "dlv_later"},
                                      {"ws_a", "dlv_off"}, {"ws_a", "missing"}, {"ws_b", "dlv_1"}};
  auto claimed = store().claim_deliveries(refs, kNow, kNow + 30 * kSecond);
  ASSERT_OK(claimed);
  // Only the one not leased already: not yet due, disabled, missing and
  // other workspaces' keys are skipped.
  ASSERT_EQ(claimed->size(), 1U);
  const DueDelivery& due = claimed->front();
  EXPECT_TRUE(due.delivery.id == "dlv_1" || due.delivery.id == "dlv_2");
  EXPECT_EQ(due.message.payload, make_message("ws_a", due.message.id).payload);
  EXPECT_EQ(due.endpoint.url, make_endpoint("ws_a", "ep_1").url);

  // Leased like a claim: neither kind of claim gets it again before the lease ends.
  EXPECT_TRUE(store().claim_deliveries(refs, kNow + 1, kNow + 30 * kSecond)->empty());
  EXPECT_TRUE(claim(kNow + 1).empty());
  auto later = store().claim_deliveries(refs, kNow + kSecond, kNow + 30 * kSecond);
  ASSERT_OK(later);
  ASSERT_EQ(later->size(), 1U);
  EXPECT_EQ(later->front().delivery.id, "dlv_later");
  EXPECT_GT(later->front().delivery.lease_token, 0);
  EXPECT_TRUE(store().claim_deliveries({}, kNow, kNow)->empty());
}

TEST_P(StoreTest, NextDueTime) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_2");
  auto empty = store().next_due_time();
  ASSERT_OK(empty);
  EXPECT_FALSE(*empty);

  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow);
  publish_one("ws_a", "msg_2", {{"ep_2", "dlv_2"}}, kNow + 5 * kSecond);
  EXPECT_EQ(*store().next_due_time(), kNow);

  // Leased deliveries do not count.
  ASSERT_EQ(claim(kNow).size(), 1U);
  EXPECT_EQ(*store().next_due_time(), kNow + 5 * kSecond);

  // Nor do those of disabled endpoints.
  ASSERT_OK(store().update_endpoint(make_endpoint("ws_a", "ep_2", /*enabled=*/false)));
  ASSERT_OK(store().resend_delivery("ws_a", "dlv_2", kNow + 6 * kSecond));
  auto none = store().next_due_time();
  ASSERT_OK(none);
  EXPECT_FALSE(*none);
}

// --- recording attempts

// A message's attempts, from all its deliveries, in the order they were made,
// and nothing of another message's.
TEST_P(StoreTest, AMessagesAttemptsComeFromEveryDeliveryInOrder) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_2");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}, {"ep_2", "dlv_2"}}, kNow - 1);
  publish_one("ws_a", "msg_2", {{"ep_1", "dlv_3"}}, kNow);
  auto claimed = claim(kNow);
  ASSERT_EQ(claimed.size(), 3U);
  const auto delivery = [&](std::string_view id) {
    return std::find_if(claimed.begin(), claimed.end(), [&](const DueDelivery& due) { return due.delivery.id == id; })
        ->delivery;
  };
  ASSERT_OK(store().record_attempts(std::vector{
      make_record(make_attempt(delivery("dlv_2"), "att_1", 1, kNow), DeliveryState::retrying, kNow + kSecond),
      make_record(make_attempt(delivery("dlv_1"), "att_2", 1, kNow), DeliveryState::retrying, kNow + kSecond),
      make_record(make_attempt(delivery("dlv_3"), "att_3", 1, kNow), DeliveryState::succeeded)}));
  claimed = claim(kNow + kSecond);  // the two retries
  ASSERT_EQ(claimed.size(), 2U);
  // The later attempt of each: dlv_2's again first, so the ids interleave the deliveries.
  ASSERT_OK(store().record_attempts(std::vector{
      make_record(make_attempt(delivery("dlv_2"), "att_4", 2, kNow + kSecond), DeliveryState::succeeded),
      make_record(make_attempt(delivery("dlv_1"), "att_5", 2, kNow + kSecond), DeliveryState::succeeded)}));

  auto of_message = store().list_attempts_for_message("ws_a", "msg_1");
  ASSERT_OK(of_message);
  EXPECT_EQ(ids_of(*of_message), (std::vector<std::string>{"att_1", "att_2", "att_4", "att_5"}));
  EXPECT_EQ(ids_of(*store().list_attempts_for_message("ws_a", "msg_2")), (std::vector<std::string>{"att_3"}));
}

TEST_P(StoreTest, RecordAttemptsMovesDeliveries) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  // Due a millisecond apart, so the claim's order is known.
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow - 2);
  publish_one("ws_a", "msg_2", {{"ep_1", "dlv_2"}}, kNow - 1);
  publish_one("ws_a", "msg_3", {{"ep_1", "dlv_3"}}, kNow);
  auto claimed = claim(kNow);
  ASSERT_EQ(claimed.size(), 3U);
  ASSERT_EQ(ids_of(std::vector{claimed[0].delivery, claimed[1].delivery, claimed[2].delivery}),
            (std::vector<std::string>{"dlv_1", "dlv_2", "dlv_3"}));

  Attempt ok = make_attempt(claimed[0].delivery, "att_1", 1, kNow);
  ok.response_status = 204;
  ok.response_body.clear();
  Attempt refused = make_attempt(claimed[2].delivery, "att_3", 1, kNow);
  refused.response_status.reset();
  refused.response_headers.clear();
  refused.error = "refused";
  refused.error_detail = "connection refused";
  ASSERT_OK(store().record_attempts(std::vector{
      make_record(ok, DeliveryState::succeeded),
      make_record(make_attempt(claimed[1].delivery, "att_2", 1, kNow), DeliveryState::retrying, kNow + 5 * kSecond),
      make_record(refused, DeliveryState::failed)}));

  auto succeeded = store().get_delivery("ws_a", "dlv_1");
  ASSERT_OK(succeeded);
  EXPECT_EQ(state_name(succeeded->state), "succeeded");
  EXPECT_EQ(succeeded->attempt_count, 1);
  EXPECT_EQ(succeeded->updated_at_ms, kNow + 1);  // started + 1.5 ms latency
  auto retrying = store().get_delivery("ws_a", "dlv_2");
  ASSERT_OK(retrying);
  EXPECT_EQ(state_name(retrying->state), "retrying");
  EXPECT_EQ(retrying->next_attempt_at_ms, kNow + 5 * kSecond);
  EXPECT_EQ(delivery_state("ws_a", "dlv_3"), "failed");

  // The lease is gone: the retry is claimable as soon as it is due.
  EXPECT_TRUE(claim(kNow + 5 * kSecond - 1).empty());
  auto retry = claim(kNow + 5 * kSecond);
  ASSERT_EQ(retry.size(), 1U);
  EXPECT_EQ(retry[0].delivery.id, "dlv_2");
  EXPECT_EQ(retry[0].delivery.attempt_count, 1);
  ASSERT_OK(store().record_attempts(std::vector{
      make_record(make_attempt(retry[0].delivery, "att_4", 2, kNow + 5 * kSecond), DeliveryState::succeeded)}));
  EXPECT_EQ(store().get_delivery("ws_a", "dlv_2")->attempt_count, 2);

  auto of_delivery = store().list_attempts_for_delivery("ws_a", "dlv_2");
  ASSERT_OK(of_delivery);
  EXPECT_EQ(ids_of(*of_delivery), (std::vector<std::string>{"att_2", "att_4"}));
  const Attempt& stored = (*of_delivery)[0];
  const Attempt expected = make_attempt(claimed[1].delivery, "att_2", 1, kNow);
  EXPECT_EQ(stored.message_id, "msg_2");
  EXPECT_EQ(stored.endpoint_id, "ep_1");
  EXPECT_EQ(stored.attempt_number, 1);
  EXPECT_EQ(stored.started_at_ms, kNow);
  EXPECT_EQ(stored.latency_us, expected.latency_us);
  EXPECT_EQ(stored.url, expected.url);
  EXPECT_EQ(stored.request_headers, expected.request_headers);
  EXPECT_EQ(stored.response_status, 500);
  EXPECT_EQ(stored.response_headers, expected.response_headers);
  EXPECT_EQ(stored.response_body, "oops");

  auto of_message = store().list_attempts_for_message("ws_a", "msg_3");
  ASSERT_OK(of_message);
  ASSERT_EQ(of_message->size(), 1U);
  EXPECT_FALSE((*of_message)[0].response_status);
  EXPECT_EQ((*of_message)[0].error, "refused");
  EXPECT_EQ((*of_message)[0].error_detail, "connection refused");

  auto of_endpoint = store().list_attempts_for_endpoint("ws_a", "ep_1", {"", 3});
  ASSERT_OK(of_endpoint);
  EXPECT_EQ(ids_of(of_endpoint->items), (std::vector<std::string>{"att_4", "att_3", "att_2"}));
  ASSERT_TRUE(of_endpoint->next_cursor);
  auto older = store().list_attempts_for_endpoint("ws_a", "ep_1", {*of_endpoint->next_cursor, 3});
  ASSERT_OK(older);
  EXPECT_EQ(ids_of(older->items), (std::vector<std::string>{"att_1"}));
  EXPECT_FALSE(older->next_cursor);

  EXPECT_TRUE(store().record_attempts({}).ok());
}

TEST_P(StoreTest, RecordAttemptCanDisableEndpoint) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_gone");
  seed_endpoint("ws_a", "ep_other");
  publish_one("ws_a", "msg_1", {{"ep_gone", "dlv_1"}, {"ep_other", "dlv_9"}}, kNow);
  publish_one("ws_a", "msg_2", {{"ep_gone", "dlv_2"}}, kNow + kSecond);
  publish_one("ws_a", "msg_3", {{"ep_gone", "dlv_3"}}, kNow + kSecond);
  auto claimed = claim(kNow, 1, 30 * kSecond, {"ep_other"});
  ASSERT_EQ(claimed.size(), 1U);
  ASSERT_EQ(claimed[0].delivery.id, "dlv_1");
  // A retry already scheduled and one in flight elsewhere: both are open.
  ASSERT_OK(store().record_attempts(std::vector{
      make_record(make_attempt(claimed[0].delivery, "att_0", 1, kNow), DeliveryState::retrying, kNow + kSecond)}));

  auto in_flight = claim(kNow + kSecond, 1, 30 * kSecond, {"ep_other"});
  ASSERT_EQ(in_flight.size(), 1U);
  Attempt gone = make_attempt(in_flight[0].delivery, "att_1", 2, kNow + kSecond);
  gone.response_status = 410;
  ASSERT_OK(store().record_attempts(
      std::vector{make_record(gone, DeliveryState::failed, 0, std::string("410 Gone from receiver"))}));

  auto endpoint = store().get_endpoint("ws_a", "ep_gone");
  ASSERT_OK(endpoint);
  EXPECT_FALSE(endpoint->enabled);
  EXPECT_EQ(endpoint->disabled_reason, "410 Gone from receiver");
  EXPECT_EQ(delivery_state("ws_a", "dlv_1"), "failed");
  EXPECT_EQ(delivery_state("ws_a", "dlv_2"), "failed");
  EXPECT_EQ(delivery_state("ws_a", "dlv_3"), "failed");
  EXPECT_EQ(delivery_state("ws_a", "dlv_9"), "pending");  // other endpoints are untouched
  EXPECT_TRUE(store().get_endpoint("ws_a", "ep_other")->enabled);
}

TEST_P(StoreTest, DisablingRecordKeepsItsOwnDeliveryState) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow);
  publish_one("ws_a", "msg_2", {{"ep_1", "dlv_2"}}, kNow + 1);
  auto claimed = claim(kNow, 1);
  ASSERT_EQ(claimed.size(), 1U);

  // Only the endpoint's *other* open deliveries are failed; the recorded one
  // takes the state its record names.
  ASSERT_OK(store().record_attempts(
      std::vector{make_record(make_attempt(claimed[0].delivery, "att_1", 1, kNow), DeliveryState::retrying,
                              kNow + kHour, std::string("failing for 5 days"))}));
  EXPECT_FALSE(store().get_endpoint("ws_a", "ep_1")->enabled);
  EXPECT_EQ(delivery_state("ws_a", "dlv_1"), "retrying");
  EXPECT_EQ(delivery_state("ws_a", "dlv_2"), "failed");
  // ...but a disabled endpoint's deliveries are not claimed.
  EXPECT_TRUE(claim(kNow + kHour).empty());
}

TEST_P(StoreTest, RecordAttemptOfDeletedDeliveryIsDropped) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_2");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}, {"ep_2", "dlv_2"}}, kNow);
  auto claimed = claim(kNow);
  ASSERT_EQ(claimed.size(), 2U);
  ASSERT_OK(store().delete_endpoint("ws_a", "ep_1"));  // while the attempts were in flight

  std::vector<AttemptRecord> records;
  for (const auto& due : claimed) {
    records.push_back(
        make_record(make_attempt(due.delivery, "att_" + due.delivery.id, 1, kNow), DeliveryState::succeeded));
  }
  ASSERT_OK(store().record_attempts(records));
  EXPECT_EQ(delivery_state("ws_a", "dlv_2"), "succeeded");
  EXPECT_EQ(ids_of(*store().list_attempts_for_message("ws_a", "msg_1")), (std::vector<std::string>{"att_dlv_2"}));
}

// --- endpoint changes reaching deliveries

TEST_P(StoreTest, DisablingEndpointFailsItsOpenDeliveries) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_2");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}, {"ep_2", "dlv_2"}}, kNow);
  publish_one("ws_a", "msg_2", {{"ep_1", "dlv_3"}}, kNow + 1);
  auto claimed = claim(kNow, 1, 30 * kSecond, {"ep_2"});
  ASSERT_EQ(claimed.size(), 1U);
  ASSERT_EQ(claimed[0].delivery.id, "dlv_1");
  ASSERT_OK(store().record_attempts(
      std::vector{make_record(make_attempt(claimed[0].delivery, "att_1", 1, kNow), DeliveryState::succeeded)}));

  Endpoint disabled = make_endpoint("ws_a", "ep_1", /*enabled=*/false);
  disabled.disabled_reason = "disabled by operator";
  disabled.updated_at_ms = kNow + kHour;
  auto updated = store().update_endpoint(disabled);
  ASSERT_OK(updated);
  EXPECT_FALSE(updated->enabled);
  EXPECT_EQ(updated->disabled_reason, "disabled by operator");

  EXPECT_EQ(delivery_state("ws_a", "dlv_1"), "succeeded");  // finished ones keep their state
  EXPECT_EQ(delivery_state("ws_a", "dlv_3"), "failed");
  EXPECT_EQ(store().get_delivery("ws_a", "dlv_3")->updated_at_ms, kNow + kHour);
  EXPECT_EQ(delivery_state("ws_a", "dlv_2"), "pending");

  // Publishing to it now creates nothing.
  EXPECT_EQ(publish_one("ws_a", "msg_3", {{"ep_1", "dlv_4"}}, kNow).deliveries_created, 0);
}

TEST_P(StoreTest, DeleteEndpointCascades) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_2");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}, {"ep_2", "dlv_2"}}, kNow);
  std::vector<AttemptRecord> records;
  for (const auto& due : claim(kNow)) {
    records.push_back(
        make_record(make_attempt(due.delivery, "att_" + due.delivery.id, 1, kNow), DeliveryState::succeeded));
  }
  ASSERT_OK(store().record_attempts(records));

  ASSERT_OK(store().delete_endpoint("ws_a", "ep_1"));
  EXPECT_ERROR(store().get_delivery("ws_a", "dlv_1"), ErrorCode::not_found);
  EXPECT_ERROR(store().list_attempts_for_delivery("ws_a", "dlv_1"), ErrorCode::not_found);
  EXPECT_ERROR(store().list_deliveries_for_endpoint("ws_a", "ep_1", {}), ErrorCode::not_found);
  ASSERT_OK(store().get_message("ws_a", "msg_1"));  // messages outlive their endpoints
  EXPECT_EQ(ids_of(*store().list_deliveries_for_message("ws_a", "msg_1")), (std::vector<std::string>{"dlv_2"}));
  EXPECT_EQ(ids_of(*store().list_attempts_for_message("ws_a", "msg_1")), (std::vector<std::string>{"att_dlv_2"}));
}

TEST_P(StoreTest, DeleteWorkspaceCascades) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_b", "ep_1");
  ASSERT_OK(store().create_api_key(ApiKey{"key_1", "ws_a", "k", "fk", "hash-a", kNow}));
  Message keyed = make_message("ws_a", "msg_1");
  keyed.idempotency_key = "k-1";
  publish({make_request(keyed, {{"ep_1", "dlv_1"}}), make_request(make_message("ws_b", "msg_1"), {{"ep_1", "dlv_1"}})});
  auto claimed = claim(kNow, 10, 30 * kSecond, {});
  ASSERT_EQ(claimed.size(), 2U);
  std::vector<AttemptRecord> records;
  for (const auto& due : claimed) {
    records.push_back(make_record(make_attempt(due.delivery, "att_1", 1, kNow), DeliveryState::retrying, kNow + 1));
  }
  ASSERT_OK(store().record_attempts(records));

  ASSERT_OK(store().delete_workspace("ws_a"));
  EXPECT_ERROR(store().get_workspace("ws_a"), ErrorCode::not_found);
  EXPECT_ERROR(store().get_endpoint("ws_a", "ep_1"), ErrorCode::not_found);
  EXPECT_ERROR(store().find_api_key_by_hash("hash-a"), ErrorCode::not_found);
  EXPECT_ERROR(store().get_message("ws_a", "msg_1"), ErrorCode::not_found);
  EXPECT_ERROR(store().get_delivery("ws_a", "dlv_1"), ErrorCode::not_found);
  EXPECT_ERROR(store().list_attempts_for_message("ws_a", "msg_1"), ErrorCode::not_found);
  auto due = claim(kNow + 1);
  ASSERT_EQ(due.size(), 1U);
  EXPECT_EQ(due[0].delivery.workspace_id, "ws_b");
  EXPECT_EQ(store().list_attempts_for_message("ws_b", "msg_1")->size(), 1U);

  // A new workspace with the same id starts empty, idempotency keys included.
  seed_workspace("ws_a");
  auto messages = store().list_messages("ws_a", {});
  ASSERT_OK(messages);
  EXPECT_TRUE(messages->items.empty());
  EXPECT_FALSE(publish({make_request(keyed)})[0].duplicate);
}

// --- resend and leases

TEST_P(StoreTest, ResendMakesDeliveryDueNow) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow);
  auto claimed = claim(kNow);
  ASSERT_EQ(claimed.size(), 1U);
  ASSERT_OK(store().record_attempts(
      std::vector{make_record(make_attempt(claimed[0].delivery, "att_1", 1, kNow), DeliveryState::failed)}));
  EXPECT_TRUE(claim(kNow + kHour).empty());

  auto resent = store().resend_delivery("ws_a", "dlv_1", kNow + kHour);
  ASSERT_OK(resent);
  EXPECT_EQ(state_name(resent->state), "pending");
  EXPECT_EQ(resent->next_attempt_at_ms, kNow + kHour);
  EXPECT_EQ(resent->updated_at_ms, kNow + kHour);
  EXPECT_EQ(resent->attempt_count, 1);
  auto again = claim(kNow + kHour);
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].delivery.id, "dlv_1");

  // Resending a leased delivery drops the lease too.
  ASSERT_OK(store().resend_delivery("ws_a", "dlv_1", kNow + kHour + 1));
  EXPECT_EQ(claim(kNow + kHour + 1).size(), 1U);
  EXPECT_ERROR(store().resend_delivery("ws_a", "dlv_missing", kNow), ErrorCode::not_found);
}

TEST_P(StoreTest, ReleasedLeasesAreClaimableAtOnce) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow);
  publish_one("ws_a", "msg_2", {{"ep_1", "dlv_2"}}, kNow);
  ASSERT_EQ(claim(kNow, 10, kHour).size(), 2U);
  EXPECT_TRUE(claim(kNow + 1).empty());

  release({{"ws_a", "dlv_2"}, {"ws_b", "dlv_1"}});  // another workspace's key releases nothing
  auto again = claim(kNow + 1);
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].delivery.id, "dlv_2");
  ASSERT_OK(store().release_leases({}));
}

TEST_P(StoreTest, EachClaimHandsOutANewLeaseToken) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow);
  auto first = claim(kNow, 10, kSecond);
  ASSERT_EQ(first.size(), 1U);
  auto second = claim(kNow + kSecond, 10, kHour);  // the first lease expired: taken over
  ASSERT_EQ(second.size(), 1U);
  EXPECT_NE(first[0].delivery.lease_token, second[0].delivery.lease_token);
  auto stored = store().get_delivery("ws_a", "dlv_1");
  ASSERT_OK(stored);
  EXPECT_EQ(stored->lease_token, second[0].delivery.lease_token);
}

TEST_P(StoreTest, LateOutcomeOfATakenOverClaimKeepsTheAttemptButNotTheState) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow);
  auto first = claim(kNow, 10, kSecond);
  ASSERT_EQ(first.size(), 1U);
  auto second = claim(kNow + kSecond, 10, kHour);
  ASSERT_EQ(second.size(), 1U);

  // The first holder comes back late with a failure: history, not state.
  AttemptRecord late{make_attempt(first[0].delivery, "att_late", 1, kNow), first[0].delivery.lease_token,
                     DeliveryState::failed, 0, std::nullopt};
  ASSERT_OK(store().record_attempts(std::vector{late}));
  EXPECT_EQ(delivery_state("ws_a", "dlv_1"), "pending");
  // The current holder's outcome counts.
  AttemptRecord current{make_attempt(second[0].delivery, "att_current", 1, kNow + kSecond),
                        second[0].delivery.lease_token, DeliveryState::succeeded, 0, std::nullopt};
  ASSERT_OK(store().record_attempts(std::vector{current}));
  EXPECT_EQ(delivery_state("ws_a", "dlv_1"), "succeeded");
  auto attempts = store().list_attempts_for_delivery("ws_a", "dlv_1");
  ASSERT_OK(attempts);
  EXPECT_EQ(ids_of(*attempts), (std::vector<std::string>{"att_current", "att_late"}));
}

TEST_P(StoreTest, ResendTakesADeliveryOverFromItsHolder) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  publish_one("ws_a", "msg_1", {{"ep_1", "dlv_1"}}, kNow);
  auto claimed = claim(kNow, 10, kHour);
  ASSERT_EQ(claimed.size(), 1U);
  ASSERT_OK(store().resend_delivery("ws_a", "dlv_1", kNow + 1));
  auto resent = claim(kNow + 1, 10, kHour);
  ASSERT_EQ(resent.size(), 1U);
  EXPECT_NE(resent[0].delivery.lease_token, claimed[0].delivery.lease_token);
}

// --- filtering the message log by delivery

// Messages 1..8, a second apart: odd ones go to ep_1, even ones to ep_1
// and ep_2; message 9 has no delivery. ws_b has an ep_1 of its own.
TEST_P(StoreTest, MessagesFilterByEndpointAndDeliveryStatusAcrossPages) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_2");
  seed_endpoint("ws_b", "ep_1");
  for (int i = 1; i <= 8; ++i) {
    std::vector<PublishRequest::Target> targets{{"ep_1", numbered("dlv_e1", i)}};
    if (i % 2 == 0) targets.push_back({"ep_2", numbered("dlv_e2", i)});
    publish_one("ws_a", numbered("msg", i), targets, kNow + i * kSecond);
  }
  publish_one("ws_a", numbered("msg", 9), {}, kNow + 9 * kSecond);
  publish_one("ws_b", numbered("msg", 10), {{"ep_1", "dlv_b"}}, kNow + 10 * kSecond);
  using S = DeliveryState;
  settle(kNow + 20 * kSecond, {{numbered("dlv_e1", 1), S::failed},
                               {numbered("dlv_e1", 2), S::succeeded},
                               {numbered("dlv_e1", 3), S::succeeded},
                               {numbered("dlv_e1", 4), S::retrying},
                               {numbered("dlv_e1", 5), S::failed},
                               {numbered("dlv_e1", 6), S::succeeded},
                               {numbered("dlv_e1", 7), S::succeeded},
                               {numbered("dlv_e1", 8), S::succeeded},
                               {numbered("dlv_e2", 2), S::failed},
                               {numbered("dlv_e2", 4), S::succeeded},
                               {numbered("dlv_e2", 6), S::failed},
                               {numbered("dlv_e2", 8), S::retrying},
                               {"dlv_b", S::failed}});

  const auto ids = [](std::initializer_list<int> numbers) {
    std::vector<std::string> out;
    for (int n : numbers) out.push_back(numbered("msg", n));
    return out;
  };
  const auto query = [](std::optional<std::string> endpoint, std::optional<MessageDeliveryStatus> status,
                        int limit = 50) {
    MessageQuery q;
    q.endpoint_id = std::move(endpoint);
    q.status = status;
    q.page.limit = limit;
    return q;
  };
  using M = MessageDeliveryStatus;
  for (int limit : {50, 3, 1}) {
    SCOPED_TRACE("page limit " + std::to_string(limit));
    EXPECT_EQ(message_ids("ws_a", query("ep_1", std::nullopt, limit)), ids({8, 7, 6, 5, 4, 3, 2, 1}));
    EXPECT_EQ(message_ids("ws_a", query("ep_2", std::nullopt, limit)), ids({8, 6, 4, 2}));
    // At least one delivery in that state; pending means pending or retrying.
    EXPECT_EQ(message_ids("ws_a", query(std::nullopt, M::failed, limit)), ids({6, 5, 2, 1}));
    EXPECT_EQ(message_ids("ws_a", query(std::nullopt, M::pending, limit)), ids({8, 4}));
    EXPECT_EQ(message_ids("ws_a", query(std::nullopt, M::succeeded, limit)), ids({8, 7, 6, 4, 3, 2}));
    // With an endpoint, the state of the delivery to that endpoint.
    EXPECT_EQ(message_ids("ws_a", query("ep_1", M::failed, limit)), ids({5, 1}));
    EXPECT_EQ(message_ids("ws_a", query("ep_2", M::failed, limit)), ids({6, 2}));
    EXPECT_EQ(message_ids("ws_a", query("ep_2", M::succeeded, limit)), ids({4}));
    EXPECT_EQ(message_ids("ws_a", query("ep_1", M::pending, limit)), ids({4}));
  }

  // With the type and time filters.
  MessageQuery windowed = query("ep_1", std::nullopt, 2);
  windowed.since_ms = kNow + 3 * kSecond;
  windowed.until_ms = kNow + 7 * kSecond;
  EXPECT_EQ(message_ids("ws_a", windowed), ids({6, 5, 4, 3}));
  windowed.type = "order.created";
  EXPECT_TRUE(message_ids("ws_a", windowed).empty());
  MessageQuery failed_since = query(std::nullopt, M::failed, 1);
  failed_since.since_ms = kNow + 2 * kSecond;
  EXPECT_EQ(message_ids("ws_a", failed_since), ids({6, 5, 2}));

  // Another workspace's deliveries never show; an unknown endpoint matches nothing.
  EXPECT_EQ(message_ids("ws_b", query("ep_1", M::failed)), ids({10}));
  EXPECT_TRUE(message_ids("ws_a", query("ep_missing", std::nullopt)).empty());
  EXPECT_ERROR(store().list_messages("ws_missing", query("ep_1", M::failed)), ErrorCode::not_found);
}

// --- recovering failed deliveries

TEST_P(StoreTest, RecoverMakesTheEndpointsFailedDeliveriesOfTheWindowDue) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_2");
  seed_endpoint("ws_b", "ep_1");
  for (int i = 1; i <= 6; ++i) {
    publish_one("ws_a", numbered("msg", i), {{"ep_1", numbered("dlv_e1", i)}, {"ep_2", numbered("dlv_e2", i)}},
                kNow + i * kSecond);
  }
  publish_one("ws_b", "msg_b", {{"ep_1", "dlv_b"}}, kNow + 3 * kSecond);
  std::map<std::string, DeliveryState> outcomes;
  for (int i = 1; i <= 6; ++i) {
    outcomes[numbered("dlv_e1", i)] = DeliveryState::failed;
    outcomes[numbered("dlv_e2", i)] = DeliveryState::failed;
  }
  outcomes[numbered("dlv_e1", 4)] = DeliveryState::succeeded;
  outcomes[numbered("dlv_e1", 5)] = DeliveryState::retrying;
  outcomes["dlv_b"] = DeliveryState::failed;
  settle(kNow + 10 * kSecond, outcomes);

  const UnixMillis later = kNow + 20 * kSecond;
  RecoverRequest request{"ws_a", "ep_1", kNow + 2 * kSecond, kNow + 6 * kSecond, later, 1000, 0};
  std::vector<std::int64_t> batches;
  auto recovered = store().recover_failed_deliveries(request, [&](std::int64_t n) { batches.push_back(n); });
  ASSERT_OK(recovered);
  // 2 and 3; 1 is older than since, 6 not older than until, 4 succeeded and 5 is still open.
  EXPECT_EQ(recovered->recovered, 2);
  EXPECT_FALSE(recovered->more);
  EXPECT_EQ(batches, (std::vector<std::int64_t>{2}));
  for (int i : {2, 3}) {
    auto delivery = store().get_delivery("ws_a", numbered("dlv_e1", i));
    ASSERT_OK(delivery);
    EXPECT_EQ(state_name(delivery->state), "pending");
    EXPECT_EQ(delivery->next_attempt_at_ms, later);
    EXPECT_EQ(delivery->updated_at_ms, later);
    EXPECT_EQ(delivery->attempt_count, 1);  // kept, as a resend keeps it
  }
  EXPECT_EQ(delivery_state("ws_a", numbered("dlv_e1", 1)), "failed");
  EXPECT_EQ(delivery_state("ws_a", numbered("dlv_e1", 4)), "succeeded");
  EXPECT_EQ(delivery_state("ws_a", numbered("dlv_e1", 5)), "retrying");
  EXPECT_EQ(delivery_state("ws_a", numbered("dlv_e1", 6)), "failed");
  for (int i = 1; i <= 6; ++i) EXPECT_EQ(delivery_state("ws_a", numbered("dlv_e2", i)), "failed");
  EXPECT_EQ(delivery_state("ws_b", "dlv_b"), "failed");

  // Due at once, for any claimer.
  std::vector<std::string> due;
  for (const auto& claimed : claim(later)) due.push_back(claimed.delivery.id);
  std::sort(due.begin(), due.end());
  EXPECT_EQ(due, (std::vector<std::string>{numbered("dlv_e1", 2), numbered("dlv_e1", 3)}));

  // Nothing failed is left in the window: a second recovery finds nothing.
  batches.clear();
  auto again = store().recover_failed_deliveries(request, [&](std::int64_t n) { batches.push_back(n); });
  ASSERT_OK(again);
  EXPECT_EQ(again->recovered, 0);
  EXPECT_TRUE(batches.empty());

  // Unknown endpoints, another workspace's and a disabled one.
  RecoverRequest missing = request;
  missing.endpoint_id = "ep_missing";
  EXPECT_ERROR(store().recover_failed_deliveries(missing, {}), ErrorCode::not_found);
  RecoverRequest elsewhere = request;
  elsewhere.workspace_id = "ws_b";
  elsewhere.endpoint_id = "ep_2";
  EXPECT_ERROR(store().recover_failed_deliveries(elsewhere, {}), ErrorCode::not_found);
  elsewhere.workspace_id = "ws_missing";
  elsewhere.endpoint_id = "ep_1";
  EXPECT_ERROR(store().recover_failed_deliveries(elsewhere, {}), ErrorCode::not_found);
  ASSERT_OK(store().update_endpoint(make_endpoint("ws_a", "ep_2", /*enabled=*/false)));
  RecoverRequest disabled = request;
  disabled.endpoint_id = "ep_2";
  EXPECT_ERROR(store().recover_failed_deliveries(disabled, {}), ErrorCode::conflict);
  for (int i = 1; i <= 6; ++i) EXPECT_EQ(delivery_state("ws_a", numbered("dlv_e2", i)), "failed");
}

// Recovery runs in transactions of at most batch_limit deliveries, oldest
// first, each committed before the next; what fails again meanwhile is not
// taken twice.
TEST_P(StoreTest, RecoverWorksInBatchesAndTakesNothingTwice) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  std::map<std::string, DeliveryState> failing;
  for (int i = 1; i <= 7; ++i) {
    publish_one("ws_a", numbered("msg", i), {{"ep_1", numbered("dlv", i)}}, kNow + i * kSecond);
    failing[numbered("dlv", i)] = DeliveryState::failed;
  }
  settle(kNow + 10 * kSecond, failing);

  UnixMillis now = kNow + 20 * kSecond;
  RecoverRequest request{"ws_a", "ep_1", kNow, kNow + kHour, now, 3, 0};
  std::vector<std::int64_t> batches;
  std::vector<std::string> first_batch_states;
  auto recovered = store().recover_failed_deliveries(request, [&](std::int64_t n) {
    batches.push_back(n);
    if (batches.size() == 1) {
      // Committed before the next batch: the oldest three are due, the rest still failed.
      for (int i = 1; i <= 7; ++i) first_batch_states.push_back(delivery_state("ws_a", numbered("dlv", i)));
      // ... and they fail again at once.
      settle(now, failing);
    }
  });
  ASSERT_OK(recovered);
  EXPECT_EQ(recovered->recovered, 7);
  EXPECT_FALSE(recovered->more);
  EXPECT_EQ(batches, (std::vector<std::int64_t>{3, 3, 1}));
  EXPECT_EQ(first_batch_states,
            (std::vector<std::string>{"pending", "pending", "pending", "failed", "failed", "failed", "failed"}));
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(delivery_state("ws_a", numbered("dlv", i)), "failed");
  for (int i = 4; i <= 7; ++i) EXPECT_EQ(delivery_state("ws_a", numbered("dlv", i)), "pending");

  // A batch limit that divides the count ends with an empty batch, unreported.
  settle(now, failing);
  batches.clear();
  request.batch_limit = 7;
  recovered = store().recover_failed_deliveries(request, [&](std::int64_t n) { batches.push_back(n); });
  ASSERT_OK(recovered);
  EXPECT_EQ(recovered->recovered, 7);
  EXPECT_FALSE(recovered->more);
  EXPECT_EQ(batches, (std::vector<std::int64_t>{7}));

  // At most max_deliveries per call, the last batch cut to fit; `more` says
  // to call again, and the next call goes on with the rest.
  settle(now + 1, failing);
  request.now_ms = now + 2;
  request.batch_limit = 3;
  request.max_deliveries = 5;
  batches.clear();
  recovered = store().recover_failed_deliveries(request, [&](std::int64_t n) { batches.push_back(n); });
  ASSERT_OK(recovered);
  EXPECT_EQ(recovered->recovered, 5);
  EXPECT_TRUE(recovered->more);
  EXPECT_EQ(batches, (std::vector<std::int64_t>{3, 2}));
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(delivery_state("ws_a", numbered("dlv", i)), "pending");
  for (int i = 6; i <= 7; ++i) EXPECT_EQ(delivery_state("ws_a", numbered("dlv", i)), "failed");
  batches.clear();
  recovered = store().recover_failed_deliveries(request, [&](std::int64_t n) { batches.push_back(n); });
  ASSERT_OK(recovered);
  EXPECT_EQ(recovered->recovered, 2);
  EXPECT_FALSE(recovered->more);
  EXPECT_EQ(batches, (std::vector<std::int64_t>{2}));
}

// --- upkeep

TEST_P(StoreTest, MaintainDeletesMessagesOlderThanTheCutoffInBatches) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  const UnixMillis day = 24 * kHour;
  for (int i = 1; i <= 5; ++i) {
    publish_one("ws_a", numbered("msg", i), {{"ep_1", numbered("dlv", i)}}, kNow - (10 - i) * day);
  }
  publish_one("ws_a", "msg_new", {{"ep_1", "dlv_new"}}, kNow);
  auto claimed = claim(kNow, 10, kHour);
  std::vector<AttemptRecord> records;
  for (const auto& due : claimed) {
    records.push_back(
        make_record(make_attempt(due.delivery, "att_" + due.delivery.id, 1, kNow), DeliveryState::succeeded));
  }
  ASSERT_OK(store().record_attempts(records));

  // Messages 1..3 are older than 6 days; repeated calls finish the job.
  const UnixMillis cutoff = kNow - 6 * day;
  std::int64_t deleted_rows = 0;
  std::int64_t partitions = 0;
  for (int round = 0; round < 20; ++round) {
    auto report = store().maintain(kNow, cutoff, /*batch_limit=*/2);
    ASSERT_OK(report);
    deleted_rows += report->messages_deleted;
    partitions += report->partitions_dropped;
    if (!report->more) break;
  }
  EXPECT_TRUE(deleted_rows > 0 || partitions > 0);
  for (int i = 1; i <= 5; ++i) {
    const bool expired = kNow - (10 - i) * day < cutoff;
    EXPECT_EQ(store().get_message("ws_a", numbered("msg", i)).ok(), !expired) << i;
    EXPECT_EQ(store().get_delivery("ws_a", numbered("dlv", i)).ok(), !expired) << i;
    EXPECT_EQ(store().list_attempts_for_delivery("ws_a", numbered("dlv", i)).ok(), !expired) << i;
  }
  ASSERT_OK(store().get_message("ws_a", "msg_new"));
  auto attempts = store().list_attempts_for_endpoint("ws_a", "ep_1", PageRequest{"", 100});
  ASSERT_OK(attempts);
  EXPECT_EQ(attempts->items.size(), 3U);  // msg_4, msg_5, msg_new
  // Nothing left to do: calling again is harmless.
  auto again = store().maintain(kNow, cutoff, 2);
  ASSERT_OK(again);
  EXPECT_FALSE(again->more);
}

// --- statistics

// One attempt to record on a delivery of its own.
struct AttemptSpec {
  std::string workspace_id;
  std::string endpoint_id;
  UnixMillis started_at_ms = 0;
  std::optional<int> status;
  std::int64_t latency_us = 0;
};

class StatsStoreTest : public StoreTest {
 protected:
  // Publishes a message per spec (at kNow) and records the attempts in one batch.
  void record_specs(const std::vector<AttemptSpec>& specs, const std::string& tag) {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const auto n = static_cast<int>(i);
      publish_one(specs[i].workspace_id, numbered(tag + "_msg", n),
                  {{specs[i].endpoint_id, numbered(tag + "_dlv", n)}});
    }
    auto claimed = claim(kNow, 1000, kHour);
    std::vector<AttemptRecord> records;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const auto n = static_cast<int>(i);
      auto due = std::find_if(claimed.begin(), claimed.end(),
                              [&](const DueDelivery& d) { return d.delivery.id == numbered(tag + "_dlv", n); });
      ASSERT_NE(due, claimed.end()) << i;
      Attempt attempt = make_attempt(due->delivery, numbered(tag + "_att", n), 1, specs[i].started_at_ms);
      attempt.response_status = specs[i].status;
      attempt.latency_us = specs[i].latency_us;
      if (!specs[i].status) attempt.error = "timeout";
      const bool ok = specs[i].status && *specs[i].status / 100 == 2;
      records.push_back(make_record(attempt, ok ? DeliveryState::succeeded : DeliveryState::failed));
    }
    ASSERT_OK(store().record_attempts(records));
  }

  std::vector<AttemptStatsRow> stats(const std::string& workspace_id, StatsWindow window,
                                     std::optional<std::string> endpoint_id = std::nullopt) {
    auto rows = store().attempt_stats(workspace_id, StatsQuery{window, std::move(endpoint_id)});
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    return rows.ok() ? *rows : std::vector<AttemptStatsRow>();
  }

  static constexpr UnixMillis kMinute = 60'000;
  const UnixMillis base_ = minute_of(kNow);
};

TEST_P(StatsStoreTest, RecordedAttemptsAreSummedPerMinuteWithTheirLatencies) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_2");
  seed_endpoint("ws_b", "ep_1");  // the same id in another workspace
  record_specs({{"ws_a", "ep_1", base_ + 1000, 200, 3'000},
                {"ws_a", "ep_1", base_ + 2000, 500, 40'000},
                {"ws_a", "ep_1", base_ + kMinute + 5, std::nullopt, 45'000'000},
                {"ws_a", "ep_2", base_ + 3000, 204, 1'000},
                {"ws_b", "ep_1", base_ + 4000, 200, 7'000}},
               "a");
  // A second batch adds to the rows the first one wrote.
  record_specs({{"ws_a", "ep_2", base_ + 59'999, 299, 2'000'000}}, "b");

  const StatsWindow minutes{base_, base_ + 2 * kMinute, kMinute};
  auto rows = stats("ws_a", minutes);
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0].start_ms, base_);
  EXPECT_EQ(rows[0].counts.attempts, 4);
  EXPECT_EQ(rows[0].counts.succeeded, 3);
  EXPECT_EQ(rows[0].counts.failed, 1);
  LatencyHistogram expected;
  for (std::int64_t us : {3'000, 40'000, 1'000, 2'000'000}) expected.add(us);
  EXPECT_EQ(rows[0].counts.latency, expected);
  EXPECT_EQ(rows[1].start_ms, base_ + kMinute);
  EXPECT_EQ(rows[1].counts.attempts, 1);
  EXPECT_EQ(rows[1].counts.failed, 1);
  EXPECT_EQ(rows[1].counts.latency.counts.back(), 1);
  EXPECT_EQ(rows[1].counts.latency.max_us, 45'000'000);

  // One endpoint only; the other workspace's endpoint of the same id is apart.
  auto of_ep2 = stats("ws_a", minutes, "ep_2");
  ASSERT_EQ(of_ep2.size(), 1U);
  EXPECT_EQ(of_ep2[0].counts.attempts, 2);
  EXPECT_EQ(of_ep2[0].counts.succeeded, 2);
  auto of_b = stats("ws_b", minutes);
  ASSERT_EQ(of_b.size(), 1U);
  EXPECT_EQ(of_b[0].counts.attempts, 1);
  EXPECT_EQ(of_b[0].counts.latency.max_us, 7'000);
  auto of_b_ep1 = stats("ws_b", minutes, "ep_1");
  ASSERT_EQ(of_b_ep1.size(), 1U);
  EXPECT_EQ(of_b_ep1[0].counts.attempts, 1);

  // Coarser buckets sum the minutes; the bucket's start is reported.
  auto window = stats_window(base_, base_ + 2 * kMinute, kHour, kNow);
  ASSERT_OK(window);
  auto hourly = stats("ws_a", *window);
  ASSERT_EQ(hourly.size(), 1U);
  EXPECT_EQ(hourly[0].start_ms, bucket_start(*window, base_));
  EXPECT_EQ(hourly[0].counts.attempts, 5);
  EXPECT_EQ(hourly[0].counts.latency.total(), 5);

  EXPECT_ERROR(store().attempt_stats("ws_nope", StatsQuery{minutes, std::nullopt}), ErrorCode::not_found);
  EXPECT_ERROR(store().attempt_stats("ws_a", StatsQuery{minutes, "ep_nope"}), ErrorCode::not_found);
  EXPECT_ERROR(store().attempt_stats("ws_b", StatsQuery{minutes, "ep_2"}), ErrorCode::not_found);
}

TEST_P(StatsStoreTest, WindowIncludesSinceAndExcludesUntil) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  record_specs({{"ws_a", "ep_1", base_ - 1, 200, 1'000},
                {"ws_a", "ep_1", base_, 200, 1'000},
                {"ws_a", "ep_1", base_ + kMinute - 1, 200, 1'000},
                {"ws_a", "ep_1", base_ + kMinute, 200, 1'000}},
               "e");
  auto rows = stats("ws_a", {base_, base_ + kMinute, kMinute});
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].counts.attempts, 2);
  EXPECT_TRUE(stats("ws_a", {base_ + 5 * kMinute, base_ + 10 * kMinute, kMinute}).empty());
  // An empty window of an existing workspace is no error.
  EXPECT_TRUE(stats("ws_a", {base_ + 5 * kMinute, base_ + 10 * kMinute, kMinute}, "ep_1").empty());
}

TEST_P(StatsStoreTest, StatisticsGoWithTheirEndpointAndWorkspace) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_2");
  seed_endpoint("ws_b", "ep_1");
  record_specs(
      {{"ws_a", "ep_1", base_, 200, 1'000}, {"ws_a", "ep_2", base_, 500, 1'000}, {"ws_b", "ep_1", base_, 200, 1'000}},
      "d");
  const StatsWindow window{base_, base_ + kMinute, kMinute};
  ASSERT_OK(store().delete_endpoint("ws_a", "ep_1"));
  auto rows = stats("ws_a", window);
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].counts.attempts, 1);
  EXPECT_EQ(rows[0].counts.failed, 1);
  // An endpoint made again with the same id starts from nothing.
  seed_endpoint("ws_a", "ep_1");
  EXPECT_TRUE(stats("ws_a", window, "ep_1").empty());
  EXPECT_EQ(stats("ws_b", window).size(), 1U);

  ASSERT_OK(store().delete_workspace("ws_a"));
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_2");
  EXPECT_TRUE(stats("ws_a", window).empty());
  EXPECT_EQ(stats("ws_b", window).size(), 1U);
}

TEST_P(StatsStoreTest, MessagesAreCountedPerBucketOfTheirWorkspace) {
  seed_workspace("ws_a");
  seed_workspace("ws_b");
  const UnixMillis hour = bucket_start(StatsWindow{0, 0, kHour}, kNow);
  publish_one("ws_a", "msg_1", {}, hour - 1);
  publish_one("ws_a", "msg_2", {}, hour);
  publish_one("ws_a", "msg_3", {}, hour + 10);
  publish_one("ws_a", "msg_4", {}, hour + kHour + 5);
  publish_one("ws_a", "msg_5", {}, hour + 2 * kHour);
  publish_one("ws_b", "msg_b", {}, hour + 10);
  auto counts = store().message_counts("ws_a", StatsWindow{hour, hour + 2 * kHour, kHour});
  ASSERT_OK(counts);
  ASSERT_EQ(counts->size(), 2U);
  EXPECT_EQ((*counts)[0].start_ms, hour);
  EXPECT_EQ((*counts)[0].messages, 2);
  EXPECT_EQ((*counts)[1].start_ms, hour + kHour);
  EXPECT_EQ((*counts)[1].messages, 1);
  auto of_b = store().message_counts("ws_b", StatsWindow{hour, hour + 2 * kHour, kHour});
  ASSERT_OK(of_b);
  ASSERT_EQ(of_b->size(), 1U);
  EXPECT_EQ((*of_b)[0].messages, 1);
  EXPECT_ERROR(store().message_counts("ws_nope", StatsWindow{hour, hour + kHour, kHour}), ErrorCode::not_found);
}

TEST_P(StatsStoreTest, AttemptsOfAnEndpointFilterByOutcome) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_2");
  record_specs({{"ws_a", "ep_1", kNow, 200, 1'000},
                {"ws_a", "ep_1", kNow, 500, 1'000},
                {"ws_a", "ep_1", kNow, std::nullopt, 1'000},
                {"ws_a", "ep_1", kNow, 201, 1'000},
                {"ws_a", "ep_1", kNow, 302, 1'000},
                {"ws_a", "ep_2", kNow, 500, 1'000}},
               "o");
  auto failed = store().list_attempts_for_endpoint("ws_a", "ep_1", {"", 50}, AttemptOutcome::failed);
  ASSERT_OK(failed);
  EXPECT_EQ(ids_of(failed->items), (std::vector<std::string>{"o_att_0004", "o_att_0002", "o_att_0001"}));
  auto succeeded = store().list_attempts_for_endpoint("ws_a", "ep_1", {"", 50}, AttemptOutcome::succeeded);
  ASSERT_OK(succeeded);
  EXPECT_EQ(ids_of(succeeded->items), (std::vector<std::string>{"o_att_0003", "o_att_0000"}));
  // Pages of a filtered list.
  auto first = store().list_attempts_for_endpoint("ws_a", "ep_1", {"", 2}, AttemptOutcome::failed);
  ASSERT_OK(first);
  EXPECT_EQ(ids_of(first->items), (std::vector<std::string>{"o_att_0004", "o_att_0002"}));
  ASSERT_TRUE(first->next_cursor);
  auto second = store().list_attempts_for_endpoint("ws_a", "ep_1", {*first->next_cursor, 2}, AttemptOutcome::failed);
  ASSERT_OK(second);
  EXPECT_EQ(ids_of(second->items), (std::vector<std::string>{"o_att_0001"}));
  EXPECT_FALSE(second->next_cursor);
  auto all = store().list_attempts_for_endpoint("ws_a", "ep_1", {"", 50});
  ASSERT_OK(all);
  EXPECT_EQ(all->items.size(), 5U);
}

TEST_P(StatsStoreTest, MaintainDeletesMinutesOlderThanTheCutoff) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  const UnixMillis day = 24 * kHour;
  record_specs({{"ws_a", "ep_1", kNow - 10 * day, 200, 1'000},
                {"ws_a", "ep_1", kNow - 9 * day, 200, 1'000},
                {"ws_a", "ep_1", kNow, 200, 1'000}},
               "m");
  std::int64_t deleted = 0;
  for (int round = 0; round < 20; ++round) {
    auto report = store().maintain(kNow, kNow - 6 * day, /*batch_limit=*/1);
    ASSERT_OK(report);
    deleted += report->stats_rows_deleted;
    if (!report->more) break;
  }
  EXPECT_EQ(deleted, 2);
  auto window = stats_window(kNow - 11 * day, kNow + 1, day, kNow);
  ASSERT_OK(window);
  auto rows = stats("ws_a", *window);
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0].start_ms, bucket_start(*window, kNow));
}

// --- copying between stores

TEST_P(StoreTest, EmptinessCountsWorkspacesAndEventTypes) {
  auto empty = store().is_empty();
  ASSERT_OK(empty);
  EXPECT_TRUE(*empty);
  seed_workspace("ws_a");
  empty = store().is_empty();
  ASSERT_OK(empty);
  EXPECT_FALSE(*empty);
}

TEST_P(StoreTest, ImportKeepsIdsStatesAndHistoryAndSkipsWhatExists) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_2");
  MessageRecord record;
  record.message = make_message("ws_a", "msg_imported");
  record.message.idempotency_key = "key-imported";
  Delivery done;
  done.workspace_id = "ws_a";
  done.id = "dlv_done";
  done.message_id = "msg_imported";
  done.endpoint_id = "ep_1";
  done.state = DeliveryState::succeeded;
  done.attempt_count = 2;
  done.next_attempt_at_ms = kNow - kSecond;
  done.created_at_ms = kNow - kHour;
  done.updated_at_ms = kNow - kSecond;
  Delivery open = done;
  open.id = "dlv_open";
  open.endpoint_id = "ep_2";
  open.state = DeliveryState::retrying;
  open.attempt_count = 1;
  open.next_attempt_at_ms = kNow;
  record.deliveries = {done, open};
  record.attempts = {make_attempt(done, "att_1", 1, kNow - kHour), make_attempt(done, "att_2", 2, kNow - kSecond),
                     make_attempt(open, "att_3", 1, kNow - kSecond)};

  ASSERT_OK(store().import_messages(std::vector{record}));
  ASSERT_OK(store().import_messages(std::vector{record}));  // again: nothing doubles
  // The statistics count each imported attempt once, however often the copy runs.
  auto window = stats_window(kNow - 2 * kHour, kNow + 1, kHour, kNow);
  ASSERT_OK(window);
  auto stats = store().attempt_stats("ws_a", StatsQuery{*window, std::nullopt});
  ASSERT_OK(stats);
  AttemptCounts imported;
  for (const auto& row : *stats) imported.merge(row.counts);
  EXPECT_EQ(imported.attempts, 3);
  EXPECT_EQ(imported.failed, 3);
  EXPECT_EQ(imported.latency.total(), 3);

  auto message = store().get_message("ws_a", "msg_imported");
  ASSERT_OK(message);
  EXPECT_EQ(message->payload, record.message.payload);
  EXPECT_EQ(message->created_at_ms, record.message.created_at_ms);
  EXPECT_EQ(delivery_state("ws_a", "dlv_done"), "succeeded");
  auto attempts = store().list_attempts_for_message("ws_a", "msg_imported");
  ASSERT_OK(attempts);
  EXPECT_EQ(attempts->size(), 3U);
  // Only the open delivery is due; the succeeded one is never sent again.
  auto due = claim(kNow, 10, kHour);
  ASSERT_EQ(due.size(), 1U);
  EXPECT_EQ(due[0].delivery.id, "dlv_open");
  EXPECT_EQ(due[0].delivery.attempt_count, 1);
  // The idempotency key came along.
  Message retry = make_message("ws_a", "msg_retry");
  retry.idempotency_key = "key-imported";
  auto outcome = publish({make_request(retry)}, kNow);
  EXPECT_TRUE(outcome[0].duplicate);
  EXPECT_EQ(outcome[0].message.id, "msg_imported");
}

TEST_P(StoreTest, ImportIntoAMissingWorkspaceFails) {
  MessageRecord record;
  record.message = make_message("ws_nowhere", "msg_1");
  EXPECT_FALSE(store().import_messages(std::vector{record}).ok());
}

// --- durability

TEST_P(StoreTest, DataSurvivesReopen) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  ASSERT_OK(store().create_api_key(ApiKey{"key_1", "ws_a", "k", "fk", "hash-a", kNow}));
  Message keyed = make_message("ws_a", "msg_1");
  keyed.idempotency_key = "k-1";
  publish({make_request(keyed, {{"ep_1", "dlv_1"}})});
  ASSERT_EQ(claim(kNow, 10, kHour).size(), 1U);

  reopen();

  ASSERT_OK(store().get_workspace("ws_a"));
  ASSERT_OK(store().get_endpoint("ws_a", "ep_1"));
  ASSERT_OK(store().find_api_key_by_hash("hash-a"));
  auto message = store().get_message("ws_a", "msg_1");
  ASSERT_OK(message);
  EXPECT_EQ(message->payload, keyed.payload);
  EXPECT_EQ(delivery_state("ws_a", "dlv_1"), "pending");
  // Whether a lease outlives the process depends on the backend (one process
  // owns SQLite, so it releases them on open); released, it is claimable.
  release({{"ws_a", "dlv_1"}});
  EXPECT_EQ(claim(kNow + 1).size(), 1U);
  // So is the idempotency record.
  Message retry = make_message("ws_a", "msg_2");
  retry.idempotency_key = "k-1";
  EXPECT_TRUE(publish({make_request(retry)})[0].duplicate);
}

TEST_P(StoreTest, DeliveriesOfEndpointFilterByStateAndPage) {
  seed_workspace("ws_a");
  seed_endpoint("ws_a", "ep_1");
  seed_endpoint("ws_a", "ep_2");
  for (int i = 1; i <= 5; ++i) {
    publish_one("ws_a", numbered("msg", i), {{"ep_1", numbered("dlv", i)}, {"ep_2", numbered("dlv", 100 + i)}}, kNow);
  }
  // dlv_0002 and dlv_0004 succeed.
  std::vector<AttemptRecord> records;
  for (const auto& due : claim(kNow)) {
    if (due.delivery.id == "dlv_0002" || due.delivery.id == "dlv_0004") {
      records.push_back(
          make_record(make_attempt(due.delivery, "att_" + due.delivery.id, 1, kNow), DeliveryState::succeeded));
    }
  }
  ASSERT_EQ(records.size(), 2U);
  ASSERT_OK(store().record_attempts(records));

  DeliveryQuery pending;
  pending.state = DeliveryState::pending;
  pending.page.limit = 2;
  auto first = store().list_deliveries_for_endpoint("ws_a", "ep_1", pending);
  ASSERT_OK(first);
  EXPECT_EQ(ids_of(first->items), (std::vector<std::string>{"dlv_0005", "dlv_0003"}));
  ASSERT_TRUE(first->next_cursor);
  pending.page.cursor = *first->next_cursor;
  auto second = store().list_deliveries_for_endpoint("ws_a", "ep_1", pending);
  ASSERT_OK(second);
  EXPECT_EQ(ids_of(second->items), (std::vector<std::string>{"dlv_0001"}));
  EXPECT_FALSE(second->next_cursor);

  DeliveryQuery succeeded;
  succeeded.state = DeliveryState::succeeded;
  auto done = store().list_deliveries_for_endpoint("ws_a", "ep_1", succeeded);
  ASSERT_OK(done);
  EXPECT_EQ(ids_of(done->items), (std::vector<std::string>{"dlv_0004", "dlv_0002"}));

  auto all = store().list_deliveries_for_endpoint("ws_a", "ep_1", {});
  ASSERT_OK(all);
  EXPECT_EQ(all->items.size(), 5U);
  EXPECT_ERROR(store().list_deliveries_for_endpoint("ws_a", "ep_missing", {}), ErrorCode::not_found);
}

std::string backend_name(const testing::TestParamInfo<StoreBackend>& backend) { return backend.param.name; }

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreTest, testing::Values(StoreBackend{"Sqlite", open_sqlite}), backend_name);
INSTANTIATE_TEST_SUITE_P(Postgres, StoreTest, testing::Values(StoreBackend{"Postgres", open_postgres}), backend_name);
INSTANTIATE_TEST_SUITE_P(Sqlite, StatsStoreTest, testing::Values(StoreBackend{"Sqlite", open_sqlite}), backend_name);
INSTANTIATE_TEST_SUITE_P(Postgres, StatsStoreTest, testing::Values(StoreBackend{"Postgres", open_postgres}),
                         backend_name);

// --- SQLite only: the schema machinery behind SqliteStore

// A plain read-only handle on the database file, to look behind the Store.
class RawDb {
 public:
  explicit RawDb(const fs::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      throw std::runtime_error("cannot open " + path.string());
    }
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // Every row of `sql`, columns joined by '|'.
  std::vector<std::string> rows(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sqlite3_errmsg(db_));
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        if (i > 0) row += "|";
        const unsigned char* text = sqlite3_column_text(stmt, i);
        row += text != nullptr ? reinterpret_cast<const char*>(text) : "NULL";
      }
      out.push_back(row);
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST(SqliteStoreSchema, MigrationsApplyOnceAndNotOnReopen) {
  TempDir dir;
  const fs::path file = dir.path() / "ferry.db";
  ASSERT_OK(SqliteStore::open(file.string()));
  const auto applied = RawDb(file).rows("SELECT version, applied_at FROM schema_migrations ORDER BY version");
  ASSERT_EQ(applied.size(), sqlite_migrations().size());
  EXPECT_EQ(applied.front().substr(0, 2), "1|");

  // Reopening an up-to-date database applies nothing: same rows, same times.
  ASSERT_OK(SqliteStore::open(file.string()));
  ASSERT_OK(SqliteStore::open(file.string()));
  EXPECT_EQ(RawDb(file).rows("SELECT version, applied_at FROM schema_migrations ORDER BY version"), applied);
}

TEST(SqliteStoreSchema, UsesWriteAheadLog) {
  TempDir dir;
  const fs::path file = dir.path() / "ferry.db";
  ASSERT_OK(SqliteStore::open(file.string()));
  EXPECT_EQ(RawDb(file).rows("PRAGMA journal_mode"), (std::vector<std::string>{"wal"}));
}

TEST(SqliteStoreSchema, RefusesNewerSchema) {
  TempDir dir;
  const fs::path file = dir.path() / "ferry.db";
  ASSERT_OK(SqliteStore::open(file.string()));
  RawDb(file).rows("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)");
  EXPECT_ERROR(SqliteStore::open(file.string()), ErrorCode::unavailable);
}

TEST(SqliteStoreSchema, RefusesUnusablePaths) {
  EXPECT_ERROR(SqliteStore::open(":memory:"), ErrorCode::bad_request);
  EXPECT_ERROR(SqliteStore::open(""), ErrorCode::bad_request);
  TempDir dir;
  EXPECT_ERROR(SqliteStore::open((dir.path() / "no-such-dir" / "ferry.db").string()), ErrorCode::unavailable);
}

}  // namespace
}  // namespace ferry
