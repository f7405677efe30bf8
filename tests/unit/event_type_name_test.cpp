#include "core/event_type_name.hpp"

#include <gtest/gtest.h>

#include "core/subscription_index.hpp"

namespace ferry {
namespace {

TEST(EventTypeName, Validation) {
  EXPECT_TRUE(is_valid_event_type_name("delivery.opened"));
  EXPECT_TRUE(is_valid_event_type_name("customer.subscription.created"));
  EXPECT_TRUE(is_valid_event_type_name("ping"));
  EXPECT_TRUE(is_valid_event_type_name("channel_delivery_status"));
  EXPECT_FALSE(is_valid_event_type_name(""));
  EXPECT_FALSE(is_valid_event_type_name(".a"));
  EXPECT_FALSE(is_valid_event_type_name("a..b"));
  EXPECT_FALSE(is_valid_event_type_name("a."));
  EXPECT_FALSE(is_valid_event_type_name("a b"));
  EXPECT_FALSE(is_valid_event_type_name("a.*"));
  EXPECT_FALSE(is_valid_event_type_name(std::string(129, 'a')));
}

TEST(TypeFilter, ExactWildcardAndEverything) {
  EXPECT_TRUE(type_filter_matches("*", "anything.at.all"));
  EXPECT_TRUE(type_filter_matches("delivery.opened", "delivery.opened"));
  EXPECT_FALSE(type_filter_matches("delivery.opened", "delivery.clicked"));
  EXPECT_TRUE(type_filter_matches("delivery.*", "delivery.opened"));
  EXPECT_TRUE(type_filter_matches("delivery.*", "delivery.sms.opened"));
  EXPECT_FALSE(type_filter_matches("delivery.*", "delivery"));
  EXPECT_FALSE(type_filter_matches("delivery.*", "deliveryx.opened"));
  EXPECT_FALSE(type_filter_matches("delivery.*", "contact.created"));
  EXPECT_TRUE(is_valid_type_filter("*"));
  EXPECT_TRUE(is_valid_type_filter("customer.subscription.*"));
  EXPECT_FALSE(is_valid_type_filter("*.created"));
  EXPECT_FALSE(is_valid_type_filter("delivery.**"));
}

Endpoint endpoint(std::string id, std::vector<std::string> filter, bool enabled = true) {
  Endpoint e;
  e.id = std::move(id);
  e.workspace_id = "ws";
  e.filter_types = std::move(filter);
  e.enabled = enabled;
  return e;
}

TEST(SubscriptionIndex, AgreesWithTheFilterForEveryEndpoint) {
  const std::vector<Endpoint> endpoints = {
      endpoint("all", {}),
      endpoint("star", {"*"}),
      endpoint("exact", {"delivery.opened"}),
      endpoint("group", {"delivery.*"}),
      endpoint("deep", {"customer.subscription.*", "invoice.paid"}),
      endpoint("off", {"*"}, false),
  };
  WorkspaceSubscriptions index(Workspace{}, endpoints);
  EXPECT_EQ(index.endpoint_count(), 5u);
  for (std::string type : {"delivery.opened", "delivery.clicked", "customer.subscription.created", "invoice.paid",
                           "invoice.failed", "ping"}) {
    std::vector<std::string> expected;
    for (const auto& e : endpoints) {
      if (!e.enabled) continue;
      bool matches = e.filter_types.empty();
      for (const auto& pattern : e.filter_types) matches = matches || type_filter_matches(pattern, type);
      if (matches) expected.push_back(e.id);
    }
    auto actual = index.endpoints_for(type);
    std::sort(expected.begin(), expected.end());
    std::sort(actual.begin(), actual.end());
    EXPECT_EQ(actual, expected) << type;
  }
}

TEST(SubscriptionIndex, AnEndpointMatchingTwiceIsListedOnce) {
  const std::vector<Endpoint> endpoints = {endpoint("both", {"delivery.*", "delivery.opened", "*"})};
  WorkspaceSubscriptions index(Workspace{}, endpoints);
  EXPECT_EQ(index.endpoints_for("delivery.opened"), std::vector<std::string>{"both"});
}

TEST(SubscriptionIndex, ReplacesWorkspacesIndependently) {
  SubscriptionIndex index;
  Workspace ws;
  ws.id = "ws";
  EXPECT_EQ(index.workspace("ws"), nullptr);
  const std::vector<Endpoint> first = {endpoint("a", {})};
  index.replace_workspace(ws, first);
  auto snapshot = index.workspace("ws");
  ASSERT_NE(snapshot, nullptr);
  index.replace_workspace(ws, {});
  EXPECT_EQ(snapshot->endpoints_for("x"), std::vector<std::string>{"a"});  // old snapshot unchanged
  EXPECT_TRUE(index.workspace("ws")->endpoints_for("x").empty());
  index.remove_workspace("ws");
  EXPECT_EQ(index.workspace("ws"), nullptr);
}

}  // namespace
}  // namespace ferry
