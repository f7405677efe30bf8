#include "core/subscription_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "core/event_type_name.hpp"

namespace ferry {
namespace {

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

Workspace workspace_named(std::string id, std::string profile = "") {
  Workspace ws;
  ws.id = std::move(id);
  ws.profile = std::move(profile);
  return ws;
}

std::vector<std::string> ids_for(const SubscriptionIndex& index, const std::string& type) {
  auto snapshot = index.workspace("ws");
  return snapshot ? snapshot->endpoints_for(type) : std::vector<std::string>{};
}

TEST(SubscriptionIndex, IncrementalChangesNeedAWorkspaceToChange) {
  SubscriptionIndex index;
  EXPECT_EQ(index.apply_endpoint(endpoint("a", {}), index.reload_ticket()), IndexUpdate::reload_workspace);
  EXPECT_EQ(index.apply_settings(workspace_named("ws"), index.reload_ticket()), IndexUpdate::reload_workspace);
  EXPECT_EQ(index.workspace("ws"), nullptr);
}

TEST(SubscriptionIndex, IncrementalChangesGiveWhatAFullReloadGives) {
  SubscriptionIndex index;
  index.replace_workspace(workspace_named("ws"), std::vector<Endpoint>{endpoint("b", {"x.*"})}, index.reload_ticket());
  auto before = index.workspace("ws");

  EXPECT_EQ(index.apply_endpoint(endpoint("a", {"x.y"}), index.reload_ticket()), IndexUpdate::done);
  EXPECT_EQ(index.apply_endpoint(endpoint("c", {}), index.reload_ticket()), IndexUpdate::done);
  EXPECT_EQ(ids_for(index, "x.y"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(before->endpoints_for("x.y"), std::vector<std::string>{"b"});  // snapshots are immutable

  EXPECT_EQ(index.apply_endpoint(endpoint("a", {"z"}), index.reload_ticket()), IndexUpdate::done);
  EXPECT_EQ(index.apply_endpoint(endpoint("b", {"x.*"}, /*enabled=*/false), index.reload_ticket()), IndexUpdate::done);
  EXPECT_EQ(index.remove_endpoint("ws", "c", index.reload_ticket()), IndexUpdate::done);
  EXPECT_EQ(index.remove_endpoint("ws", "never-there", index.reload_ticket()), IndexUpdate::done);
  EXPECT_TRUE(ids_for(index, "x.y").empty());
  EXPECT_EQ(ids_for(index, "z"), std::vector<std::string>{"a"});
  EXPECT_EQ(index.workspace("ws")->endpoint_count(), 1U);

  EXPECT_EQ(index.apply_settings(workspace_named("ws", "stripe"), index.reload_ticket()), IndexUpdate::done);
  EXPECT_EQ(index.workspace("ws")->workspace().profile, "stripe");
  EXPECT_EQ(ids_for(index, "z"), std::vector<std::string>{"a"});  // settings leave endpoints alone
}

// A reload read the store before an API change of one endpoint and reaches
// the index after it: the change is the newer word on that endpoint, the
// reload on the others.
TEST(SubscriptionIndex, AChangeSurvivesAnOlderReloadThatArrivesLater) {
  SubscriptionIndex index;
  const auto ws = workspace_named("ws");
  index.replace_workspace(ws, std::vector<Endpoint>{endpoint("a", {"t"})}, index.reload_ticket());

  const auto reload = index.reload_ticket();
  index.apply_endpoint(endpoint("a", {"t"}, /*enabled=*/false), index.reload_ticket());
  index.apply_endpoint(endpoint("n", {"t"}), index.reload_ticket());
  index.apply_settings(workspace_named("ws", "stripe"), index.reload_ticket());
  // What the reload read: "a" still enabled, "n" not there yet, "o" made by another node.
  index.replace_workspace(ws, std::vector<Endpoint>{endpoint("a", {"t"}), endpoint("o", {"t"})}, reload);
  EXPECT_EQ(ids_for(index, "t"), (std::vector<std::string>{"n", "o"}));
  EXPECT_EQ(index.workspace("ws")->workspace().profile, "stripe");

  // A full rebuild that old does the same.
  const auto rebuild = index.reload_ticket();
  index.remove_endpoint("ws", "o", index.reload_ticket());
  const std::vector<Workspace> all = {ws};
  index.replace_all(all, std::vector<Endpoint>{endpoint("a", {"t"}), endpoint("o", {"t"})}, rebuild);
  EXPECT_EQ(ids_for(index, "t"), std::vector<std::string>{"a"});
  EXPECT_EQ(index.workspace("ws")->workspace().profile, "");  // the rebuild's read is newer than the settings change
}

TEST(SubscriptionIndex, ANewerReloadOrChangeWinsOverAnOlderChange) {
  SubscriptionIndex index;
  const auto ws = workspace_named("ws");
  index.replace_workspace(ws, std::vector<Endpoint>{}, index.reload_ticket());

  const auto older = index.reload_ticket();
  const auto newer = index.reload_ticket();
  index.apply_endpoint(endpoint("a", {"new"}), newer);
  index.apply_endpoint(endpoint("a", {"old"}), older);  // two API threads' reads, arriving out of order
  EXPECT_EQ(ids_for(index, "new"), std::vector<std::string>{"a"});
  EXPECT_TRUE(ids_for(index, "old").empty());
  index.remove_endpoint("ws", "a", older);
  EXPECT_EQ(ids_for(index, "new"), std::vector<std::string>{"a"});

  // A reload that read after the change replaces it, and an incremental
  // change older than that reload is dropped.
  const auto stale_change = index.reload_ticket();
  index.replace_workspace(ws, std::vector<Endpoint>{endpoint("a", {"reloaded"})}, index.reload_ticket());
  EXPECT_EQ(ids_for(index, "reloaded"), std::vector<std::string>{"a"});
  index.apply_endpoint(endpoint("a", {"stale"}), stale_change);
  EXPECT_TRUE(ids_for(index, "stale").empty());
  EXPECT_EQ(ids_for(index, "reloaded"), std::vector<std::string>{"a"});
}

TEST(SubscriptionIndex, AWorkspaceFoundGoneStaysGone) {
  SubscriptionIndex index;
  const auto ws = workspace_named("ws");
  index.replace_workspace(ws, std::vector<Endpoint>{endpoint("a", {})}, index.reload_ticket());
  index.remove_workspace("ws", index.reload_ticket());
  EXPECT_EQ(index.apply_endpoint(endpoint("a", {}), index.reload_ticket()), IndexUpdate::reload_workspace);
  EXPECT_EQ(index.workspace("ws"), nullptr);
}

// The history the index keeps for out-of-order reloads is bounded: past a
// point, a change asks for a full reload, which clears it.
TEST(SubscriptionIndex, ManyChangesAskForAReload) {
  SubscriptionIndex index;
  const auto ws = workspace_named("ws");
  index.replace_workspace(ws, std::vector<Endpoint>{}, index.reload_ticket());
  int changes_before_reload = 0;
  while (index.remove_endpoint("ws", "ep_" + std::to_string(changes_before_reload), index.reload_ticket()) ==
         IndexUpdate::done) {
    ++changes_before_reload;
    ASSERT_LT(changes_before_reload, 100000);
  }
  EXPECT_GT(changes_before_reload, 100);
  index.replace_workspace(ws, std::vector<Endpoint>{}, index.reload_ticket());
  EXPECT_EQ(index.remove_endpoint("ws", "ep_x", index.reload_ticket()), IndexUpdate::done);
}

// Random interleavings of reads (each taking its ticket when it reads a
// model store) whose results reach the index in a shuffled order: once every
// read has arrived, the index says what the store's last state says.
TEST(SubscriptionIndex, ShuffledReadsEndInStepWithTheStore) {
  std::mt19937 random(20261203);
  for (int round = 0; round < 300; ++round) {
    SubscriptionIndex index;
    std::map<std::string, Endpoint> store;  // the model store's endpoints of "ws"
    index.replace_workspace(workspace_named("ws"), std::vector<Endpoint>{}, index.reload_ticket());

    struct Read {
      std::uint64_t ticket;
      bool full;
      std::vector<Endpoint> endpoints;  // full: every endpoint; else the one read, or none (id in missing_id)
      std::string missing_id;
    };
    std::vector<Read> reads;
    const std::vector<std::vector<std::string>> filters = {{}, {"t"}, {"u"}, {"t", "u"}};
    for (int step = 0; step < 12; ++step) {
      const std::string id = "ep_" + std::to_string(random() % 4);
      switch (random() % 3) {
        case 0: store[id] = endpoint(id, filters[random() % filters.size()], random() % 4 != 0); break;
        case 1: store.erase(id); break;
        default: break;
      }
      // The writer reads back what it changed (the API's incremental path) or
      // something else triggers a reload of the whole workspace.
      Read read{index.reload_ticket(), random() % 3 == 0, {}, id};
      if (read.full) {
        for (const auto& [_, e] : store) read.endpoints.push_back(e);
      } else if (auto found = store.find(id); found != store.end()) {
        read.endpoints.push_back(found->second);
      }
      reads.push_back(std::move(read));
    }
    std::shuffle(reads.begin(), reads.end(), random);
    for (const auto& read : reads) {
      if (read.full) {
        index.replace_workspace(workspace_named("ws"), read.endpoints, read.ticket);
      } else if (read.endpoints.empty()) {
        index.remove_endpoint("ws", read.missing_id, read.ticket);
      } else {
        index.apply_endpoint(read.endpoints.front(), read.ticket);
      }
    }
    std::vector<Endpoint> final_state;
    for (const auto& [_, e] : store) final_state.push_back(e);
    const WorkspaceSubscriptions expected(workspace_named("ws"), final_state);
    for (const std::string type : {"t", "u", "v"}) {
      ASSERT_EQ(ids_for(index, type), expected.endpoints_for(type)) << "round " << round << ", type " << type;
    }
  }
}

}  // namespace
}  // namespace ferry
