// copy_store against two real SQLite stores; `ferry store copy` into
// PostgreSQL is covered by the integration tests.

#include "store/store_copy.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "store/sqlite_store.hpp"
#include "unit/store_test_support.hpp"

namespace ferry {
namespace {

constexpr UnixMillis kNow = 1'700'000'000'000;

class StoreCopyTest : public testing::Test {
 protected:
  void SetUp() override {
    source_ = open("source.db");
    target_ = open("target.db");
    seed();
  }

  std::unique_ptr<SqliteStore> open(const std::string& name) {
    auto store = SqliteStore::open((dir_.path() / name).string());
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
  }

  void seed() {
    Store& s = *source_;
    ASSERT_TRUE(s.create_workspace(test_workspace("ws_1", "One", kNow)).ok());
    ASSERT_TRUE(s.create_workspace(test_workspace("ws_2", "Two", kNow)).ok());
    ASSERT_TRUE(s.create_api_key(ApiKey{"key_1", "ws_1", "ci", "fk_abc", "hash-1", kNow}).ok());
    EventType type;
    type.name = "order.completed";
    type.group = "order";
    type.examples_json = {R"({"id":1})"};
    ASSERT_TRUE(s.upsert_event_type(type).ok());
    for (const char* id : {"ep_a", "ep_b"}) {
      Endpoint endpoint;
      endpoint.workspace_id = "ws_1";
      endpoint.id = id;
      endpoint.url = std::string("https://receiver.test/") + id;
      endpoint.secrets = {"whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "whsec_b2xkb2xkb2xkb2xkb2xkb2xk"};
      endpoint.created_at_ms = kNow;
      endpoint.updated_at_ms = kNow;
      ASSERT_TRUE(s.create_endpoint(endpoint).ok());
    }
    std::vector<PublishRequest> requests;
    for (int i = 0; i < 450; ++i) {  // more than one page and one transaction
      Message message;
      message.workspace_id = "ws_1";
      message.id = "msg_" + std::to_string(1000 + i);
      message.type = "order.completed";
      message.payload = R"({"n":)" + std::to_string(i) + "}";
      message.created_at_ms = kNow + i;
      if (i == 0) message.idempotency_key = "first";
      requests.push_back(
          PublishRequest{message, {{"ep_a", "dlv_a" + std::to_string(i)}, {"ep_b", "dlv_b" + std::to_string(i)}}});
    }
    ASSERT_TRUE(s.publish(requests, kNow, 24 * 3600 * 1000).ok());
    // ep_a's deliveries succeed; ep_b's stay open.
    auto due = s.claim_due_deliveries(kNow + 1000, 1000, kNow + 60'000, std::vector<std::string>{"ep_b"});
    ASSERT_TRUE(due.ok());
    ASSERT_EQ(due->size(), 450U);
    std::vector<AttemptRecord> records;
    for (const auto& d : *due) {
      AttemptRecord record;
      record.lease_token = d.delivery.lease_token;
      record.new_state = DeliveryState::succeeded;
      record.attempt.id = "atm_" + d.delivery.id;
      record.attempt.workspace_id = "ws_1";
      record.attempt.delivery_id = d.delivery.id;
      record.attempt.message_id = d.message.id;
      record.attempt.endpoint_id = d.endpoint.id;
      record.attempt.started_at_ms = kNow + 1000;
      record.attempt.response_status = 200;
      records.push_back(record);
    }
    ASSERT_TRUE(s.record_attempts(records).ok());
  }

  TempDir dir_;  // declared first: removed after the stores are closed
  std::unique_ptr<SqliteStore> source_;
  std::unique_ptr<SqliteStore> target_;
};

TEST_F(StoreCopyTest, CopiesEverythingWithTheSameIds) {
  int progress_calls = 0;
  CopyOptions options;
  options.on_progress = [&](const CopyCounts&) { ++progress_calls; };
  auto counts = copy_store(*source_, *target_, options);
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  EXPECT_EQ(counts->workspaces, 2);
  EXPECT_EQ(counts->api_keys, 1);
  EXPECT_EQ(counts->endpoints, 2);
  EXPECT_EQ(counts->event_types, 1);
  EXPECT_EQ(counts->messages, 450);
  EXPECT_EQ(counts->deliveries, 900);
  EXPECT_EQ(counts->attempts, 450);
  EXPECT_GE(progress_calls, 3);

  Store& t = *target_;
  ASSERT_TRUE(t.find_api_key_by_hash("hash-1").ok());
  auto endpoint = t.get_endpoint("ws_1", "ep_a");
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(endpoint->secrets.size(), 2U);
  EXPECT_EQ(endpoint->secrets[0], "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0");
  ASSERT_TRUE(t.get_event_type("", "order.completed").ok());
  auto message = t.get_message("ws_1", "msg_1007");
  ASSERT_TRUE(message.ok());
  EXPECT_EQ(message->payload, R"({"n":7})");
  EXPECT_EQ(message->created_at_ms, kNow + 7);
  auto attempts = t.list_attempts_for_delivery("ws_1", "dlv_a7");
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 1U);
  EXPECT_EQ(attempts->front().response_status, 200);

  // Only the open deliveries are due in the target: nothing succeeded is sent again.
  auto due = t.claim_due_deliveries(kNow + 2000, 1000, kNow + 60'000, {});
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(due->size(), 450U);
  for (const auto& d : *due) EXPECT_EQ(d.endpoint.id, "ep_b");

  // The idempotency key still answers with the first message.
  Message again;
  again.workspace_id = "ws_1";
  again.id = "msg_again";
  again.type = "order.completed";
  again.payload = "{}";
  again.created_at_ms = kNow + 5000;
  again.idempotency_key = "first";
  auto outcome = t.publish(std::vector{PublishRequest{again, {}}}, kNow + 5000, 24 * 3600 * 1000);
  ASSERT_TRUE(outcome.ok());
  EXPECT_TRUE((*outcome)[0].duplicate);
  EXPECT_EQ((*outcome)[0].message.id, "msg_1000");
}

TEST_F(StoreCopyTest, RefusesANonEmptyTargetUnlessMerging) {
  ASSERT_TRUE(copy_store(*source_, *target_, {}).ok());
  auto refused = copy_store(*source_, *target_, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::conflict);

  // Merging again doubles nothing.
  CopyOptions merge;
  merge.merge = true;
  ASSERT_TRUE(copy_store(*source_, *target_, merge).ok());
  auto attempts = target_->list_attempts_for_message("ws_1", "msg_1003");
  ASSERT_TRUE(attempts.ok());
  EXPECT_EQ(attempts->size(), 1U);
  auto deliveries = target_->list_deliveries_for_message("ws_1", "msg_1003");
  ASSERT_TRUE(deliveries.ok());
  EXPECT_EQ(deliveries->size(), 2U);
}

}  // namespace
}  // namespace ferry
