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

// Two reloads read the store in one order and reach the index in the other:
// what the older read found must not overwrite the newer.
TEST(SubscriptionIndex, AnOlderReloadNeverUndoesANewerOne) {
  SubscriptionIndex index;
  Workspace ws;
  ws.id = "ws";
  Workspace other;
  other.id = "other";
  const std::vector<Endpoint> one = {endpoint("a", {})};
  const std::vector<Endpoint> two = {endpoint("a", {}), endpoint("b", {})};

  const auto older = index.reload_ticket();
  const auto newer = index.reload_ticket();
  index.replace_workspace(ws, two, newer);
  index.replace_workspace(ws, one, older);
  EXPECT_EQ(index.workspace("ws")->endpoint_count(), 2U);
  index.remove_workspace("ws", older);
  EXPECT_NE(index.workspace("ws"), nullptr);

  // A full rebuild that started before a workspace's reload keeps that reload's entry ...
  const auto rebuild = index.reload_ticket();
  const auto after = index.reload_ticket();
  index.replace_workspace(other, one, after);
  const std::vector<Workspace> both = {ws, other};
  index.replace_all(both, std::vector<Endpoint>{}, rebuild);
  EXPECT_EQ(index.workspace("other")->endpoint_count(), 1U);
  EXPECT_EQ(index.workspace("ws")->endpoint_count(), 0U);
  // ... and a removal newer than a rebuild stays removed.
  const auto before_removal = index.reload_ticket();
  index.remove_workspace("ws", index.reload_ticket());
  index.replace_all(both, std::vector<Endpoint>{}, before_removal);
  EXPECT_EQ(index.workspace("ws"), nullptr);
  EXPECT_NE(index.workspace("other"), nullptr);
  // Once superseded, a later reload applies again.
  index.replace_workspace(ws, two, index.reload_ticket());
  EXPECT_EQ(index.workspace("ws")->endpoint_count(), 2U);
}

}  // namespace
}  // namespace ferry
