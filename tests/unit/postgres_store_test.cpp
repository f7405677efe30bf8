// What only PostgresStore promises: several processes on one database (two
// store instances stand in for two nodes), migrations, partitions and
// retention, and recovery when the database goes away. The shared contract is
// in store_test.cpp.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres_connection.hpp"
#include "store/postgres_listener.hpp"
#include "store/postgres_migrations.hpp"
#include "store/postgres_partitions.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/store_copy.hpp"
#include "unit/postgres_test_support.hpp"
#include "unit/store_test_support.hpp"

namespace ferry {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr UnixMillis kNow = 1'700'000'000'000;  // 2023-11-14 22:13:20 UTC
constexpr UnixMillis kSecond = 1'000;
constexpr UnixMillis kHour = 3'600'000;
constexpr UnixMillis kDay = 24 * kHour;

Workspace make_workspace(const std::string& id) { return test_workspace(id, "Workspace " + id, kNow); }

Endpoint make_endpoint(const std::string& workspace_id, const std::string& id) {
  Endpoint endpoint;
  endpoint.workspace_id = workspace_id;
  endpoint.id = id;
  endpoint.url = "https://receiver.test/" + id;
  endpoint.secrets = {"whsec_c2VjcmV0"};
  endpoint.created_at_ms = kNow;
  endpoint.updated_at_ms = kNow;
  return endpoint;
}

Message make_message(const std::string& workspace_id, const std::string& id, UnixMillis created_at_ms = kNow) {
  Message message;
  message.workspace_id = workspace_id;
  message.id = id;
  message.type = "user.created";
  message.payload = R"({"id":")" + id + R"("})";
  message.created_at_ms = created_at_ms;
  return message;
}

PublishRequest make_request(Message message, std::vector<PublishRequest::Target> targets = {}) {
  return PublishRequest{std::move(message), std::move(targets)};
}

AttemptRecord make_record(const Delivery& delivery, const std::string& attempt_id, UnixMillis started_at_ms,
                          DeliveryState state, UnixMillis next_attempt_at_ms = 0) {
  AttemptRecord record;
  record.lease_token = delivery.lease_token;
  record.new_state = state;
  record.next_attempt_at_ms = next_attempt_at_ms;
  Attempt& attempt = record.attempt;
  attempt.id = attempt_id;
  attempt.workspace_id = delivery.workspace_id;
  attempt.delivery_id = delivery.id;
  attempt.message_id = delivery.message_id;
  attempt.endpoint_id = delivery.endpoint_id;
  attempt.attempt_number = delivery.attempt_count + 1;
  attempt.started_at_ms = started_at_ms;
  attempt.url = "https://receiver.test/" + delivery.endpoint_id;
  attempt.response_status = 500;
  return record;
}

std::string numbered(std::string_view prefix, int number) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%04d", number);
  return std::string(prefix) + "_" + digits;
}

UnixMillis day_start(UnixMillis ms) { return pg_day_of(ms) * kDay; }

// Changes heard by a watcher, waited for from the test thread.
class ChangeLog {
 public:
  StoreWatcher watcher() {
    return [this](const StoreChange& change) {
      std::lock_guard lock(mutex_);
      changes_.push_back(change);
      changed_.notify_all();
    };
  }

  bool wait_for(const std::function<bool(const StoreChange&)>& wanted, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      for (const auto& change : changes_) {
        if (wanted(change)) return true;
      }
      return false;
    });
  }

  std::size_t size() {
    std::lock_guard lock(mutex_);
    return changes_.size();
  }

  void clear() {
    std::lock_guard lock(mutex_);
    changes_.clear();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<StoreChange> changes_;
};

std::function<bool(const StoreChange&)> is(StoreChange::Kind kind, std::string workspace_id = "") {
  return [kind, workspace_id](const StoreChange& change) {
    return change.kind == kind && change.workspace_id == workspace_id;
  };
}

// A database of its own, with any number of store instances ("nodes") on it
// and a plain connection to look behind them.
class PostgresNodes : public testing::Test {
 protected:
  void SetUp() override {
    auto url = postgres_test_database(dir_.path());
    ASSERT_TRUE(url.ok()) << url.error().message;
    url_ = *url;
    auto raw = PgConnection::connect(PgConnectOptions{url_});
    ASSERT_TRUE(raw.ok()) << raw.error().message;
    raw_ = std::move(*raw);
  }

  std::unique_ptr<PostgresStore> open_node() {
    auto store = PostgresStore::open(PostgresOptions{url_, 4});
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
  }

  // The first column of the first row of `sql`, as an integer.
  std::int64_t count(const std::string& sql, const PgParams& params = {}) {
    auto result = raw_->query(sql, params);
    if (!result) throw std::runtime_error(result.error().message);
    return result->integer(0, 0);
  }

  bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return done();
  }

  // Waits until `listeners` sessions on this database have run LISTEN.
  bool wait_for_listeners(int listeners) {
    return wait_until([&] {
      return count(
                 "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND query LIKE 'LISTEN %'") >= listeners;
    });
  }

  bool partition_exists(const std::string& name) {
    PgParams params;
    params.text(name);
    return count("SELECT count(*) FROM pg_class WHERE relname = $1", params) > 0;
  }

  void seed(Store& store) {
    ASSERT_OK(store.create_workspace(make_workspace("ws_a")));
    ASSERT_OK(store.create_endpoint(make_endpoint("ws_a", "ep_1")));
  }

  TempDir dir_;
  std::string url_;
  std::unique_ptr<PgConnection> raw_;
};

// --- several nodes

TEST_F(PostgresNodes, SameIdempotencyKeyOnTwoNodesAtOnceYieldsOneMessage) {
  auto a = open_node();
  auto b = open_node();
  ASSERT_TRUE(a && b);
  seed(*a);

  // Hold both publishers at their first step, so that both look for the key
  // before either has stored it: one must then lose the race on insert.
  ASSERT_OK(raw_->script("BEGIN"));
  ASSERT_OK(raw_->exec("SELECT 1 FROM workspaces WHERE id = 'ws_a' FOR UPDATE"));
  Result<std::vector<PublishOutcome>> from_a = std::vector<PublishOutcome>();
  Result<std::vector<PublishOutcome>> from_b = std::vector<PublishOutcome>();
  const auto publish = [](PostgresStore& store, const std::string& id, Result<std::vector<PublishOutcome>>& out) {
    Message message = make_message("ws_a", id);
    message.idempotency_key = "order-42";
    std::vector<PublishRequest> batch{make_request(message, {{"ep_1", "dlv_" + id}})};
    out = store.publish(batch, kNow, kHour);
  };
  std::thread first([&] { publish(*a, "msg_a", from_a); });
  std::thread second([&] { publish(*b, "msg_b", from_b); });
  EXPECT_TRUE(wait_until([&] {
    return count(
               "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
               "AND wait_event_type = 'Lock' AND wait_event <> 'advisory'") >= 2;
  }));
  ASSERT_OK(raw_->script("COMMIT"));
  first.join();
  second.join();

  ASSERT_OK(from_a);
  ASSERT_OK(from_b);
  ASSERT_EQ(from_a->size(), 1U);
  ASSERT_EQ(from_b->size(), 1U);
  const PublishOutcome& x = from_a->front();
  const PublishOutcome& y = from_b->front();
  EXPECT_FALSE(x.error);
  EXPECT_FALSE(y.error);
  ASSERT_NE(x.duplicate, y.duplicate) << "exactly one of the two must be the duplicate";
  const PublishOutcome& winner = x.duplicate ? y : x;
  const PublishOutcome& loser = x.duplicate ? x : y;
  EXPECT_EQ(loser.message.id, winner.message.id);
  EXPECT_EQ(winner.deliveries_created, 1);
  EXPECT_EQ(loser.deliveries_created, 0);

  auto messages = a->list_messages("ws_a", {});
  ASSERT_OK(messages);
  ASSERT_EQ(messages->items.size(), 1U);
  EXPECT_EQ(messages->items[0].id, winner.message.id);
  auto deliveries = b->list_deliveries_for_endpoint("ws_a", "ep_1", {});
  ASSERT_OK(deliveries);
  EXPECT_EQ(deliveries->items.size(), 1U);
}

TEST_F(PostgresNodes, ConcurrentPublishesOfSameIdsAndKeysFromTwoNodes) {
  auto a = open_node();
  auto b = open_node();
  ASSERT_TRUE(a && b);
  seed(*a);
  constexpr int kRounds = 25;
  std::atomic<int> failures{0};
  std::atomic<int> stored{0};
  for (int round = 0; round < kRounds; ++round) {
    std::latch start(2);
    const auto publish = [&](PostgresStore& store, const std::string& node) {
      // Even rounds: same idempotency key, different ids. Odd rounds: same id.
      Message message = make_message("ws_a", round % 2 == 0 ? numbered("msg_" + node, round) : numbered("msg", round));
      if (round % 2 == 0) message.idempotency_key = numbered("key", round);
      std::vector<PublishRequest> batch{make_request(message, {{"ep_1", numbered("dlv_" + node, round)}}),
                                        make_request(make_message("ws_a", numbered("msg_solo_" + node, round)),
                                                     {{"ep_1", numbered("dlv_solo_" + node, round)}})};
      start.arrive_and_wait();
      auto outcomes = store.publish(batch, kNow, kHour);
      if (!outcomes || outcomes->size() != 2 || (*outcomes)[0].error || (*outcomes)[1].error ||
          (*outcomes)[1].duplicate) {
        ++failures;
        return;
      }
      if (!(*outcomes)[0].duplicate) ++stored;
    };
    std::thread first([&] { publish(*a, "a"); });
    std::thread second([&] { publish(*b, "b"); });
    first.join();
    second.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(stored.load(), kRounds);
  // Per round: one contested message and two solo ones, one delivery each.
  EXPECT_EQ(count("SELECT count(*) FROM messages"), 3 * kRounds);
  EXPECT_EQ(count("SELECT count(*) FROM deliveries"), 3 * kRounds);
}

TEST_F(PostgresNodes, EachDueDeliveryIsClaimedByExactlyOneNode) {
  auto a = open_node();
  auto b = open_node();
  ASSERT_TRUE(a && b);
  seed(*a);
  constexpr int kDeliveries = 300;
  std::vector<PublishRequest> batch;
  for (int i = 0; i < kDeliveries; ++i) {
    batch.push_back(make_request(make_message("ws_a", numbered("msg", i), kNow + i), {{"ep_1", numbered("dlv", i)}}));
  }
  auto published = a->publish(batch, kNow, kHour);
  ASSERT_OK(published);

  std::mutex mutex;
  std::vector<std::string> claimed;
  std::atomic<int> failures{0};
  std::latch start(4);
  const auto claimer = [&](PostgresStore& store) {
    start.arrive_and_wait();
    for (;;) {
      auto due = store.claim_due_deliveries(kNow + kHour, 7, kNow + 2 * kHour, {});
      if (!due) {
        ++failures;
        return;
      }
      if (due->empty()) return;
      std::lock_guard lock(mutex);
      for (const auto& delivery : *due) claimed.push_back(delivery.delivery.id);
    }
  };
  std::vector<std::thread> threads;
  for (PostgresStore* store : {a.get(), b.get(), a.get(), b.get()}) threads.emplace_back(claimer, std::ref(*store));
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(kDeliveries));
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), static_cast<std::size_t>(kDeliveries));
}

TEST_F(PostgresNodes, ExpiredLeaseIsTakenOverAndTheLateRecordDoesNotMoveTheState) {
  auto a = open_node();
  auto b = open_node();
  ASSERT_TRUE(a && b);
  seed(*a);
  std::vector<PublishRequest> batch{make_request(make_message("ws_a", "msg_1"), {{"ep_1", "dlv_1"}})};
  ASSERT_OK(a->publish(batch, kNow, kHour));

  auto by_a = a->claim_due_deliveries(kNow, 10, kNow + kSecond, {});
  ASSERT_OK(by_a);
  ASSERT_EQ(by_a->size(), 1U);
  auto too_early = b->claim_due_deliveries(kNow + kSecond - 1, 10, kNow + kHour, {});
  ASSERT_OK(too_early);
  EXPECT_TRUE(too_early->empty());

  // A's lease ran out (A is presumed dead); B takes the delivery over.
  auto by_b = b->claim_due_deliveries(kNow + kSecond, 10, kNow + kHour, {});
  ASSERT_OK(by_b);
  ASSERT_EQ(by_b->size(), 1U);
  const Delivery& mine = by_b->front().delivery;
  const Delivery& stale = by_a->front().delivery;
  EXPECT_EQ(mine.lease_token, stale.lease_token + 1);

  // A was only slow: its outcome is history, but the state is B's.
  ASSERT_OK(a->record_attempts(std::vector{make_record(stale, "att_a", kNow, DeliveryState::succeeded)}));
  auto after_a = b->get_delivery("ws_a", "dlv_1");
  ASSERT_OK(after_a);
  EXPECT_EQ(delivery_state_name(after_a->state), "pending");
  EXPECT_EQ(after_a->attempt_count, 0);
  // ...and B's lease still holds.
  auto meanwhile = a->claim_due_deliveries(kNow + 2 * kSecond, 10, kNow + kHour, {});
  ASSERT_OK(meanwhile);
  EXPECT_TRUE(meanwhile->empty());

  ASSERT_OK(b->record_attempts(
      std::vector{make_record(mine, "att_b", kNow + kSecond, DeliveryState::retrying, kNow + kHour)}));
  auto after_b = a->get_delivery("ws_a", "dlv_1");
  ASSERT_OK(after_b);
  EXPECT_EQ(delivery_state_name(after_b->state), "retrying");
  EXPECT_EQ(after_b->next_attempt_at_ms, kNow + kHour);
  EXPECT_EQ(after_b->attempt_count, 1);

  // Both attempts are kept.
  auto attempts = a->list_attempts_for_delivery("ws_a", "dlv_1");
  ASSERT_OK(attempts);
  ASSERT_EQ(attempts->size(), 2U);
  EXPECT_EQ((*attempts)[0].id, "att_a");
  EXPECT_EQ((*attempts)[1].id, "att_b");
}

TEST_F(PostgresNodes, WatchHearsOtherNodesOnly) {
  ChangeLog heard_by_a;
  ChangeLog heard_by_b;
  auto a = open_node();
  auto b = open_node();
  ASSERT_TRUE(a && b);
  a->watch(heard_by_a.watcher());
  b->watch(heard_by_b.watcher());
  // watch() returns listening, so a change committed right after it is
  // heard; with nothing missed, there is no everything_changed.
  EXPECT_EQ(count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND query LIKE 'LISTEN %'"),
            2);
  seed(*a);
  EXPECT_TRUE(heard_by_b.wait_for(is(StoreChange::Kind::endpoints_changed, "ws_a"), 10s));
  heard_by_b.clear();

  Endpoint changed = make_endpoint("ws_a", "ep_1");
  changed.url = "https://elsewhere.test/hook";
  ASSERT_OK(a->update_endpoint(changed));
  EXPECT_TRUE(heard_by_b.wait_for(is(StoreChange::Kind::endpoints_changed, "ws_a"), 10s));

  std::vector<PublishRequest> batch{make_request(make_message("ws_a", "msg_1"), {{"ep_1", "dlv_1"}})};
  ASSERT_OK(a->publish(batch, kNow, kHour));
  EXPECT_TRUE(heard_by_b.wait_for(is(StoreChange::Kind::deliveries_due), 10s));

  // Workspace settings travel with its endpoints; catalogs and types have their own news.
  Workspace settings = make_workspace("ws_a");
  settings.catalog = "shop";
  heard_by_b.clear();
  ASSERT_OK(a->update_workspace(settings));
  EXPECT_TRUE(heard_by_b.wait_for(is(StoreChange::Kind::endpoints_changed, "ws_a"), 10s));
  ASSERT_OK(a->upsert_catalog(CatalogDocument{"shop", "{}", kNow, kNow}));
  EXPECT_TRUE(heard_by_b.wait_for(is(StoreChange::Kind::catalogs_changed), 10s));
  heard_by_b.clear();
  EventType type;
  type.catalog = "shop";
  type.name = "order.paid";
  ASSERT_OK(a->upsert_event_type(type));
  EXPECT_TRUE(heard_by_b.wait_for(is(StoreChange::Kind::catalogs_changed), 10s));

  // And the other way round; A hears B but never itself.
  ASSERT_OK(b->delete_endpoint("ws_a", "ep_1"));
  EXPECT_TRUE(heard_by_a.wait_for(is(StoreChange::Kind::endpoints_changed, "ws_a"), 10s));
  EXPECT_FALSE(heard_by_a.wait_for(is(StoreChange::Kind::deliveries_due), 300ms));
  EXPECT_EQ(heard_by_a.size(), 1U);
  EXPECT_FALSE(heard_by_a.wait_for(is(StoreChange::Kind::everything_changed), 0ms));
}

TEST_F(PostgresNodes, WatchReportsEverythingChangedAfterItsConnectionIsLost) {
  ChangeLog heard;
  auto a = open_node();
  auto b = open_node();
  ASSERT_TRUE(a && b);
  b->watch(heard.watcher());
  ASSERT_TRUE(wait_for_listeners(1));

  EXPECT_EQ(count("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                  "WHERE datname = current_database() AND query LIKE 'LISTEN %'"),
            1);
  EXPECT_TRUE(heard.wait_for(is(StoreChange::Kind::everything_changed), 15s));
  // Listening again: changes are heard as before.
  ASSERT_TRUE(wait_for_listeners(1));
  seed(*a);
  EXPECT_TRUE(heard.wait_for(is(StoreChange::Kind::endpoints_changed, "ws_a"), 10s));
}

TEST_F(PostgresNodes, ConnectionsClosedByTheServerAreReplacedTransparently) {
  auto a = open_node();
  ASSERT_TRUE(a);
  seed(*a);
  // Several idle connections in the pool.
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) readers.emplace_back([&] { EXPECT_TRUE(a->get_workspace("ws_a").ok()); });
  for (auto& reader : readers) reader.join();

  count(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  // Nothing of these calls had reached the server when their connection
  // turned out dead, so each runs again on a fresh one.
  for (int i = 0; i < 6; ++i) {
    ASSERT_OK(a->get_workspace("ws_a"));
    ASSERT_OK(a->create_workspace(make_workspace(numbered("ws", i))));
  }
}

// --- schema

TEST_F(PostgresNodes, ConcurrentOpensApplyMigrationsOnce) {
  constexpr int kNodes = 6;
  std::latch start(kNodes);
  std::atomic<int> opened{0};
  std::vector<std::string> errors(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto store = PostgresStore::open(PostgresOptions{url_, 2});
      if (store) {
        ++opened;
      } else {
        errors[static_cast<std::size_t>(i)] = store.error().message;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(opened.load(), kNodes) << errors[0] << errors[1] << errors[2];
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), static_cast<std::int64_t>(postgres_migrations().size()));
  EXPECT_EQ(count("SELECT max(version) FROM schema_migrations"), postgres_migrations().back().version);
}

TEST_F(PostgresNodes, RefusesNewerSchema) {
  ASSERT_TRUE(open_node());
  ASSERT_OK(raw_->exec("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)"));
  EXPECT_ERROR(PostgresStore::open(PostgresOptions{url_, 2}), ErrorCode::unavailable);
}

TEST_F(PostgresNodes, KeysLeadWithTheWorkspaceAndGrowingTablesArePartitionedByDay) {
  ASSERT_TRUE(open_node());
  // Every primary key but those of the global tables (workspaces, catalogs
  // and their event types) starts with workspace_id.
  EXPECT_EQ(count("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                  "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] "
                  "WHERE i.indisprimary AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
                  "AND c.relnamespace = 'public'::regnamespace "
                  "AND c.relname NOT IN ('workspaces', 'catalogs', 'event_types', 'schema_migrations') "
                  "AND a.attname <> 'workspace_id'"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                  "WHERE c.relname IN ('messages', 'attempts') AND p.partstrat = 'r'"),
            2);
  // No DEFAULT partition; today's and the next week's exist from the start.
  EXPECT_EQ(count("SELECT count(*) FROM pg_class WHERE relispartition "
                  "AND pg_get_expr(relpartbound, oid) = 'DEFAULT'"),
            0);
  const UnixMillis now = SystemClock().now_ms();
  for (std::string_view table : {kPgMessagesTable, kPgAttemptsTable}) {
    for (int day = -1; day <= 7; ++day) {
      EXPECT_TRUE(partition_exists(pg_partition_name(table, pg_day_of(now) + day))) << table << " " << day;
    }
  }
  EXPECT_EQ(pg_partition_name("messages", pg_day_of(kNow)), "messages_p20231114");
  EXPECT_EQ(pg_partition_day("messages", "messages_p20231114"), pg_day_of(kNow));
  EXPECT_FALSE(pg_partition_day("messages", "messages_p2023111x"));
}

// --- retention

TEST_F(PostgresNodes, MaintainDropsExpiredPartitionsAndDeletesWhatHangsOffThem) {
  auto a = open_node();
  auto b = open_node();
  ASSERT_TRUE(a && b);
  seed(*a);
  const UnixMillis old_day = day_start(kNow) - 4 * kDay;  // 2023-11-10
  const UnixMillis cutoff_day = day_start(kNow);          // 2023-11-14
  const UnixMillis cutoff = cutoff_day + 3 * kHour;

  const auto publish = [&](PostgresStore& store, const std::string& id, UnixMillis at, bool with_key = false) {
    Message message = make_message("ws_a", id, at);
    if (with_key) message.idempotency_key = "key-" + id;
    std::vector<PublishRequest> batch{make_request(message, {{"ep_1", "dlv_" + id}})};
    auto outcomes = store.publish(batch, at, kHour);
    ASSERT_OK(outcomes);
    ASSERT_FALSE(outcomes->front().error) << outcomes->front().error->message;
  };
  publish(*a, "msg_old", old_day + kHour, true);
  publish(*b, "msg_older_next_day", old_day + kDay + kHour);  // B now knows that day's partition
  publish(*a, "msg_cut_early", cutoff_day + kHour);
  publish(*a, "msg_cut_late", cutoff_day + 5 * kHour);
  auto claimed = a->claim_due_deliveries(old_day + kHour, 1, old_day + 2 * kHour, {});
  ASSERT_OK(claimed);
  ASSERT_EQ(claimed->size(), 1U);
  ASSERT_OK(a->record_attempts(
      std::vector{make_record(claimed->front().delivery, "att_old", old_day + kHour, DeliveryState::succeeded)}));
  ASSERT_TRUE(partition_exists("messages_p20231110"));
  ASSERT_TRUE(partition_exists("attempts_p20231110"));

  auto report = a->maintain(SystemClock().now_ms(), cutoff, 1000);
  ASSERT_OK(report);
  EXPECT_EQ(report->partitions_dropped, 3);  // messages of the 10th and 11th, attempts of the 10th
  EXPECT_EQ(report->messages_deleted, 1);    // msg_cut_early, from the day the cutoff falls in
  EXPECT_FALSE(report->more);
  EXPECT_FALSE(partition_exists("messages_p20231110"));
  EXPECT_FALSE(partition_exists("messages_p20231111"));
  EXPECT_FALSE(partition_exists("attempts_p20231110"));
  EXPECT_TRUE(partition_exists("messages_p20231114"));

  for (const char* gone : {"msg_old", "msg_older_next_day", "msg_cut_early"}) {
    EXPECT_ERROR(b->get_message("ws_a", gone), ErrorCode::not_found);
    EXPECT_ERROR(b->get_delivery("ws_a", std::string("dlv_") + gone), ErrorCode::not_found);
  }
  EXPECT_ERROR(b->list_attempts_for_delivery("ws_a", "dlv_msg_old"), ErrorCode::not_found);
  ASSERT_OK(b->get_message("ws_a", "msg_cut_late"));
  EXPECT_EQ(count("SELECT count(*) FROM message_keys WHERE created_at < " + std::to_string(cutoff)), 0);
  EXPECT_EQ(count("SELECT count(*) FROM attempts"), 0);

  // Ids and keys of removed messages are free again; B still believed the
  // 11th's partition existed and finds out on its insert.
  publish(*b, "msg_older_next_day", old_day + kDay + 2 * kHour);
  publish(*a, "msg_old", SystemClock().now_ms(), true);
  ASSERT_OK(a->get_message("ws_a", "msg_older_next_day"));

  // A small batch limit leaves the rest for the next rounds.
  const UnixMillis later_cutoff = day_start(kNow) + kDay + kHour;
  int rounds = 0;
  for (bool more = true; more && rounds < 20; ++rounds) {
    auto step = a->maintain(SystemClock().now_ms(), later_cutoff, 1);
    ASSERT_OK(step);
    more = step->more;
  }
  EXPECT_GT(rounds, 1);
  EXPECT_ERROR(a->get_message("ws_a", "msg_cut_late"), ErrorCode::not_found);
  EXPECT_ERROR(a->get_message("ws_a", "msg_older_next_day"), ErrorCode::not_found);
  ASSERT_OK(a->get_message("ws_a", "msg_old"));  // the one republished now
}

TEST_F(PostgresNodes, DroppingAPartitionNeverHoldsPublishesUp) {
  auto a = open_node();
  ASSERT_TRUE(a);
  seed(*a);
  const UnixMillis old_day = day_start(kNow) - 4 * kDay;
  std::vector<PublishRequest> old_batch{make_request(make_message("ws_a", "msg_old", old_day + kHour))};
  ASSERT_OK(a->publish(old_batch, old_day + kHour, kHour));
  ASSERT_TRUE(partition_exists("messages_p20231110"));

  // A long reader holds the old partition (and the parent) open.
  ASSERT_OK(raw_->script("BEGIN"));
  EXPECT_EQ(count("SELECT count(*) FROM messages WHERE workspace_id = 'ws_a'"), 1);

  std::atomic<bool> maintained{false};
  std::thread upkeep([&] {
    auto report = a->maintain(SystemClock().now_ms(), day_start(kNow), 1000);
    EXPECT_TRUE(report.ok()) << report.error().message;
    maintained = true;
  });
  // While the drop waits for the reader, publishes go through at once.
  std::this_thread::sleep_for(300ms);
  for (int i = 0; i < 5; ++i) {
    const UnixMillis now = SystemClock().now_ms();
    std::vector<PublishRequest> batch{make_request(make_message("ws_a", "msg_now_" + std::to_string(i), now))};
    const auto started = std::chrono::steady_clock::now();
    auto published = a->publish(batch, now, kHour);
    ASSERT_OK(published);
    EXPECT_FALSE(published->front().error);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s) << "publish " << i << " waited for the drop";
  }
  EXPECT_FALSE(maintained) << "the drop did not wait for the reader";
  ASSERT_OK(raw_->script("COMMIT"));
  upkeep.join();
  EXPECT_TRUE(maintained);
  EXPECT_FALSE(partition_exists("messages_p20231110"));
  EXPECT_ERROR(a->get_message("ws_a", "msg_old"), ErrorCode::not_found);
  ASSERT_OK(a->get_message("ws_a", "msg_now_4"));
}

// --- copying

TEST_F(PostgresNodes, ImportKeepsRowsVerbatimAndCanRunAgain) {
  auto a = open_node();
  ASSERT_TRUE(a);
  auto empty = a->is_empty();
  ASSERT_OK(empty);
  EXPECT_TRUE(*empty);
  seed(*a);
  ASSERT_FALSE(*a->is_empty());

  MessageRecord record;
  record.message = make_message("ws_a", "msg_1", kNow - 30 * kDay);  // a day without a partition yet
  record.message.payload = std::string("\xff\0raw", 5);
  record.message.idempotency_key = "order-42";
  Delivery delivery;
  delivery.id = "dlv_1";
  delivery.workspace_id = "ws_a";
  delivery.message_id = "msg_1";
  delivery.endpoint_id = "ep_1";
  delivery.state = DeliveryState::retrying;
  delivery.attempt_count = 2;
  delivery.next_attempt_at_ms = kNow;
  delivery.created_at_ms = kNow - 30 * kDay;
  delivery.updated_at_ms = kNow - kDay;
  delivery.lease_token = 7;
  record.deliveries.push_back(delivery);
  AttemptRecord attempt = make_record(delivery, "att_1", kNow - 29 * kDay, DeliveryState::retrying);
  attempt.attempt.response_body = "gone";
  record.attempts.push_back(attempt.attempt);
  const std::vector<MessageRecord> records{record};
  ASSERT_OK(a->import_messages(records));
  ASSERT_OK(a->import_messages(records));  // an interrupted copy runs again

  auto message = a->get_message("ws_a", "msg_1");
  ASSERT_OK(message);
  EXPECT_EQ(message->payload, record.message.payload);
  EXPECT_EQ(message->created_at_ms, kNow - 30 * kDay);
  EXPECT_EQ(message->idempotency_key, "order-42");
  auto stored = a->get_delivery("ws_a", "dlv_1");
  ASSERT_OK(stored);
  EXPECT_EQ(delivery_state_name(stored->state), "retrying");
  EXPECT_EQ(stored->attempt_count, 2);
  EXPECT_EQ(stored->lease_token, 7);
  EXPECT_EQ(stored->updated_at_ms, kNow - kDay);
  auto attempts = a->list_attempts_for_delivery("ws_a", "dlv_1");
  ASSERT_OK(attempts);
  ASSERT_EQ(attempts->size(), 1U);
  EXPECT_EQ((*attempts)[0].response_body, "gone");
  EXPECT_EQ(count("SELECT count(*) FROM messages"), 1);

  // Idempotency carries over: the key and the id are taken.
  Message retry = make_message("ws_a", "msg_2", kNow - 30 * kDay + 1);
  retry.idempotency_key = "order-42";
  std::vector<PublishRequest> batch{make_request(retry)};
  auto outcomes = a->publish(batch, kNow - 30 * kDay + 1, kHour);
  ASSERT_OK(outcomes);
  EXPECT_TRUE(outcomes->front().duplicate);
  // Imported deliveries come without a lease: claimable at once.
  auto due = a->claim_due_deliveries(kNow, 10, kNow + kHour, {});
  ASSERT_OK(due);
  ASSERT_EQ(due->size(), 1U);
  EXPECT_EQ(due->front().delivery.lease_token, 8);

  MessageRecord orphan;
  orphan.message = make_message("ws_missing", "msg_9");
  EXPECT_ERROR(a->import_messages(std::vector{orphan}), ErrorCode::not_found);
}

TEST_F(PostgresNodes, CopiesAnSqliteStoreWithTheSameIds) {
  TempDir sqlite_dir;
  auto source = SqliteStore::open((sqlite_dir.path() / "ferry.db").string());
  ASSERT_OK(source);
  Store& from = **source;
  seed(from);
  ASSERT_OK(from.create_endpoint(make_endpoint("ws_a", "ep_2")));
  std::vector<PublishRequest> batch;
  for (int i = 0; i < 250; ++i) {  // more than one transaction of the copy
    Message message = make_message("ws_a", numbered("msg", i), kNow - 3 * kDay + i * kHour);
    if (i == 7) message.idempotency_key = "seven";
    batch.push_back(make_request(message, {{"ep_1", numbered("dlv_a", i)}, {"ep_2", numbered("dlv_b", i)}}));
  }
  ASSERT_OK(from.publish(batch, kNow - 3 * kDay, kHour));
  auto due = from.claim_due_deliveries(kNow + kDay, 1000, kNow + kDay + kHour, std::vector<std::string>{"ep_2"});
  ASSERT_OK(due);
  ASSERT_EQ(due->size(), 250U);
  std::vector<AttemptRecord> records;
  for (const auto& claimed : *due) {
    records.push_back(make_record(claimed.delivery, "att_" + claimed.delivery.id, claimed.message.created_at_ms,
                                  DeliveryState::succeeded));
  }
  ASSERT_OK(from.record_attempts(records));

  auto target = open_node();
  ASSERT_TRUE(target);
  auto counts = copy_store(from, *target, CopyOptions{});
  ASSERT_OK(counts);
  EXPECT_EQ(counts->messages, 250);
  EXPECT_EQ(counts->deliveries, 500);
  EXPECT_EQ(counts->attempts, 250);
  EXPECT_EQ(count("SELECT count(*) FROM messages"), 250);
  EXPECT_EQ(count("SELECT count(*) FROM deliveries WHERE state = 'succeeded'"), 250);
  EXPECT_EQ(count("SELECT count(*) FROM attempts"), 250);

  // Running it again with merge doubles nothing.
  CopyOptions merge;
  merge.merge = true;
  ASSERT_OK(copy_store(from, *target, merge));
  EXPECT_EQ(count("SELECT count(*) FROM messages"), 250);
  EXPECT_EQ(count("SELECT count(*) FROM attempts"), 250);

  // The open deliveries carry on from PostgreSQL; the finished ones never come back.
  auto open = target->claim_due_deliveries(kNow + kDay, 1000, kNow + kDay + kHour, {});
  ASSERT_OK(open);
  EXPECT_EQ(open->size(), 250U);
  for (const auto& claimed : *open) EXPECT_EQ(claimed.endpoint.id, "ep_2");
  Message retry = make_message("ws_a", "msg_retry", kNow - 3 * kDay + 7 * kHour + 1);
  retry.idempotency_key = "seven";
  std::vector<PublishRequest> again{make_request(retry)};
  auto outcomes = target->publish(again, kNow - 3 * kDay + 7 * kHour + 1, kHour);
  ASSERT_OK(outcomes);
  EXPECT_TRUE(outcomes->front().duplicate);
  EXPECT_EQ(outcomes->front().message.id, numbered("msg", 7));
}

// --- reaching the database

TEST(PostgresStoreOpen, FailsClearlyWhenTheDatabaseCannotBeReached) {
  auto store = PostgresStore::open(PostgresOptions{"postgresql://ferry:secret@127.0.0.1:1/ferry", 2});
  ASSERT_FALSE(store.ok());
  EXPECT_STREQ(error_code_name(store.error().code), "unavailable");
  EXPECT_EQ(store.error().message.rfind("cannot connect to postgresql://ferry:***@127.0.0.1:1/ferry: ", 0), 0U)
      << store.error().message;
  EXPECT_EQ(store.error().message.find("secret"), std::string::npos);
}

// A PostgreSQL server of the test's own, to stop and start again.
class PrivateServer {
 public:
  PrivateServer() { url_ = run("start '" + dir_.path().string() + "'"); }
  ~PrivateServer() {
    try {
      stop();
    } catch (const std::exception&) {
      // Nothing more to do: the directory goes anyway.
    }
  }
  PrivateServer(const PrivateServer&) = delete;
  PrivateServer& operator=(const PrivateServer&) = delete;

  void stop() { run("stop '" + dir_.path().string() + "'"); }
  void start_again() {
    std::ifstream port_file(dir_.path() / "port");
    std::string port;
    port_file >> port;
    run("start '" + dir_.path().string() + "' " + port);
  }
  const std::string& url() const { return url_; }

 private:
  static std::string run(const std::string& arguments) {
    const std::string command = std::string("bash '") + FERRY_POSTGRES_TEST_SERVER_SCRIPT + "' " + arguments;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
    std::string out;
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
    if (::pclose(pipe) != 0) throw std::runtime_error(command + " failed");
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  TempDir dir_;
  std::string url_;
};

TEST(PostgresStoreOutage, FailsWhileTheDatabaseIsDownAndRecoversAfter) {
  ASSERT_OK(postgres_test_server_url());  // the same prerequisites as every PostgreSQL test
  PrivateServer server;
  ChangeLog heard;
  auto opened = PostgresStore::open(PostgresOptions{server.url(), 3});
  ASSERT_OK(opened);
  PostgresStore& store = **opened;
  store.watch(heard.watcher());
  ASSERT_OK(store.create_workspace(make_workspace("ws_a")));

  server.stop();
  EXPECT_ERROR(store.get_workspace("ws_a"), ErrorCode::unavailable);
  EXPECT_ERROR(store.create_workspace(make_workspace("ws_b")), ErrorCode::unavailable);
  std::vector<PublishRequest> batch{make_request(make_message("ws_a", "msg_1"))};
  EXPECT_ERROR(store.publish(batch, kNow, kHour), ErrorCode::unavailable);

  server.start_again();
  ASSERT_OK(store.get_workspace("ws_a"));
  ASSERT_OK(store.create_workspace(make_workspace("ws_b")));
  auto published = store.publish(batch, kNow, kHour);
  ASSERT_OK(published);
  EXPECT_FALSE(published->front().error);
  // The watcher lost its connection too: it reconnects and says so.
  EXPECT_TRUE(heard.wait_for(is(StoreChange::Kind::everything_changed), 20s));
}

// --- notification payloads

TEST(PostgresStoreChanges, PayloadsRoundTripAndOwnOnesAreIgnored) {
  auto due = parse_pg_change(pg_deliveries_due_payload("node-a"), "node-b");
  ASSERT_TRUE(due);
  EXPECT_EQ(due->kind, StoreChange::Kind::deliveries_due);
  auto endpoints = parse_pg_change(pg_endpoints_changed_payload("node-a", "ws|odd"), "node-b");
  ASSERT_TRUE(endpoints);
  EXPECT_EQ(endpoints->kind, StoreChange::Kind::endpoints_changed);
  EXPECT_EQ(endpoints->workspace_id, "ws|odd");
  EXPECT_FALSE(parse_pg_change(pg_deliveries_due_payload("node-a"), "node-a"));
  auto unknown = parse_pg_change("something else", "node-a");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->kind, StoreChange::Kind::everything_changed);
}

}  // namespace
}  // namespace ferry
