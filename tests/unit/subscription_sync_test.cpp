#include "ingest/subscription_sync.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "store/sqlite_store.hpp"
#include "unit/store_test_support.hpp"

namespace ferry {
namespace {

constexpr UnixMillis kNow = 1'700'000'000'000;

class SubscriptionSyncTest : public testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::open((dir_.path() / "ferry.db").string());
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    ASSERT_TRUE(store_->create_workspace(test_workspace("ws_1", "One", kNow)).ok());
  }

  void add_endpoint(const std::string& id, bool enabled = true) {
    Endpoint endpoint;
    endpoint.workspace_id = "ws_1";
    endpoint.id = id;
    endpoint.url = "https://receiver.test/" + id;
    endpoint.secrets = {"whsec_c2VjcmV0"};
    endpoint.enabled = enabled;
    ASSERT_TRUE(store_->create_endpoint(endpoint).ok());
  }

  std::size_t subscribers(const std::string& workspace_id) {
    auto subscriptions = index_.workspace(workspace_id);
    return subscriptions ? subscriptions->endpoints_for("a.b").size() : 0;
  }

  // Bounded wait for the background thread.
  bool eventually(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return condition();
  }

  TempDir dir_;  // declared first: removed after the store is closed
  std::unique_ptr<SqliteStore> store_;
  SubscriptionIndex index_;
};

TEST_F(SubscriptionSyncTest, ReloadsEveryPageOfAWorkspace) {
  for (int i = 0; i < 1205; ++i) add_endpoint("ep_" + std::to_string(10000 + i));
  add_endpoint("ep_off", /*enabled=*/false);
  ASSERT_TRUE(reload_workspace_subscriptions(*store_, index_, "ws_1").ok());
  EXPECT_EQ(subscribers("ws_1"), 1205U);
}

TEST_F(SubscriptionSyncTest, DropsAWorkspaceThatIsGone) {
  add_endpoint("ep_1");
  ASSERT_TRUE(reload_all_subscriptions(*store_, index_).ok());
  EXPECT_EQ(subscribers("ws_1"), 1U);
  ASSERT_TRUE(store_->delete_workspace("ws_1").ok());
  ASSERT_TRUE(reload_workspace_subscriptions(*store_, index_, "ws_1").ok());
  EXPECT_EQ(subscribers("ws_1"), 0U);
}

TEST_F(SubscriptionSyncTest, RefreshesOneEndpointOrSettingsWithoutReadingTheRest) {
  // A workspace the index has not loaded yet is read in full.
  add_endpoint("ep_1");
  ASSERT_TRUE(refresh_endpoint_subscription(*store_, index_, "ws_1", "ep_1").ok());
  EXPECT_EQ(subscribers("ws_1"), 1U);

  add_endpoint("ep_2");
  ASSERT_TRUE(refresh_endpoint_subscription(*store_, index_, "ws_1", "ep_2").ok());
  EXPECT_EQ(subscribers("ws_1"), 2U);

  auto disabled = store_->get_endpoint("ws_1", "ep_1");
  ASSERT_TRUE(disabled.ok());
  disabled->enabled = false;
  ASSERT_TRUE(store_->update_endpoint(*disabled).ok());
  ASSERT_TRUE(refresh_endpoint_subscription(*store_, index_, "ws_1", "ep_1").ok());
  EXPECT_EQ(index_.workspace("ws_1")->endpoints_for("a.b"), std::vector<std::string>{"ep_2"});

  ASSERT_TRUE(store_->delete_endpoint("ws_1", "ep_2").ok());
  ASSERT_TRUE(refresh_endpoint_subscription(*store_, index_, "ws_1", "ep_2").ok());
  EXPECT_EQ(subscribers("ws_1"), 0U);

  auto settings = store_->get_workspace("ws_1");
  ASSERT_TRUE(settings.ok());
  settings->profile = "stripe";
  ASSERT_TRUE(store_->update_workspace(*settings).ok());
  ASSERT_TRUE(refresh_workspace_settings(*store_, index_, "ws_1").ok());
  EXPECT_EQ(index_.workspace("ws_1")->workspace().profile, "stripe");

  ASSERT_TRUE(store_->delete_workspace("ws_1").ok());
  ASSERT_TRUE(refresh_workspace_settings(*store_, index_, "ws_1").ok());
  EXPECT_EQ(index_.workspace("ws_1"), nullptr);
}

TEST_F(SubscriptionSyncTest, BackgroundRequestsReachTheIndex) {
  SubscriptionSync sync(*store_, index_);
  sync.start();
  add_endpoint("ep_1");
  sync.workspace_changed("ws_1");
  EXPECT_TRUE(eventually([&] { return subscribers("ws_1") == 1; }));
  add_endpoint("ep_2");
  sync.everything_changed();
  EXPECT_TRUE(eventually([&] { return subscribers("ws_1") == 2; }));
  sync.stop();
}

}  // namespace
}  // namespace ferry
