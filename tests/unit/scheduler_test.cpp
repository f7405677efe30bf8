// The scheduler against a real SQLite store and a scripted transport: retry
// decisions, per-endpoint caps and endpoint disabling, without sockets.
#include "delivery/scheduler.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <thread>

#include "core/ids.hpp"
#include "core/signature.hpp"
#include "store/sqlite_store.hpp"
#include "unit/store_test_support.hpp"

namespace ferry {
namespace {

using namespace std::chrono_literals;

// Answers each URL from a script of statuses (the last one repeats); a URL
// marked "held" keeps its requests until release_held() is called.
class ScriptedTransport final : public Transport {
 public:
  void script(const std::string& url, std::vector<int> statuses, HeaderList headers = {}) {
    std::lock_guard lock(mutex_);
    scripts_[url] = {std::move(statuses), std::move(headers)};
  }
  void hold(const std::string& url) {
    std::lock_guard lock(mutex_);
    held_urls_.push_back(url);
  }
  void send(OutgoingRequest request, Callback on_done) override {
    TransportResponse response;
    {
      std::lock_guard lock(mutex_);
      ++sent_[request.url];
      requests_.push_back(request);
      if (std::find(held_urls_.begin(), held_urls_.end(), request.url) != held_urls_.end()) {
        held_.push_back(std::move(on_done));
        return;
      }
      auto& [statuses, headers] = scripts_[request.url];
      const std::size_t index = std::min<std::size_t>(answered_[request.url]++, statuses.size() - 1);
      response.status = statuses[index];
      response.headers = headers;
    }
    on_done(std::move(response));
  }
  void release_held() {
    std::vector<Callback> held;
    {
      std::lock_guard lock(mutex_);
      held.swap(held_);
      held_urls_.clear();
    }
    for (auto& callback : held) {
      TransportResponse response;
      response.status = 200;
      callback(std::move(response));
    }
  }
  void shutdown(std::chrono::milliseconds) override {}
  int sent(const std::string& url) {
    std::lock_guard lock(mutex_);
    return sent_[url];
  }
  std::size_t held_count() {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  std::vector<OutgoingRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::pair<std::vector<int>, HeaderList>> scripts_;
  std::map<std::string, std::size_t> answered_;
  std::map<std::string, int> sent_;
  std::vector<std::string> held_urls_;
  std::vector<Callback> held_;
  std::vector<OutgoingRequest> requests_;
};

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "ferry-scheduler-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto opened = SqliteStore::open(dir_ + "/ferry.db");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
    ASSERT_TRUE(store_->create_workspace(test_workspace("ws", "Workspace", clock_.now_ms())).ok());
  }
  void TearDown() override {
    if (scheduler_) scheduler_->stop(0ms);
    scheduler_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void start(SchedulerConfig config) {
    config.retry.time_factor = 0.001;
    config.idle_poll = 20ms;
    scheduler_ = std::make_unique<Scheduler>(*store_, transport_, clock_, metrics_, config,
                                             [this](const std::string&) { ++disabled_callbacks_; });
    scheduler_->start();
  }

  std::string add_endpoint(const std::string& url) {
    Endpoint endpoint;
    endpoint.id = new_id("ep", clock_.now_ms());
    endpoint.workspace_id = "ws";
    endpoint.url = url;
    endpoint.secrets = {generate_secret()};
    endpoint.created_at_ms = endpoint.updated_at_ms = clock_.now_ms();
    EXPECT_TRUE(store_->create_endpoint(endpoint).ok());
    return endpoint.id;
  }

  // Publishes one message to the endpoints; returns the delivery ids.
  std::vector<std::string> publish(const std::vector<std::string>& endpoint_ids) {
    PublishRequest request;
    const UnixMillis now = clock_.now_ms();
    request.message.id = new_id("msg", now);
    request.message.workspace_id = "ws";
    request.message.type = "order.paid";
    request.message.payload = R"({"n":1})";
    request.message.created_at_ms = now;
    std::vector<std::string> deliveries;
    for (const auto& endpoint_id : endpoint_ids) {
      deliveries.push_back(new_id("dlv", now));
      request.targets.push_back({endpoint_id, deliveries.back()});
    }
    auto outcome = store_->publish(std::span(&request, 1), now, 86'400'000);
    EXPECT_TRUE(outcome.ok());
    if (scheduler_) scheduler_->wake();
    return deliveries;
  }

  DeliveryState state_of(const std::string& delivery_id) { return store_->get_delivery("ws", delivery_id)->state; }

  std::string dir_;
  SystemClock clock_;
  Metrics metrics_;
  ScriptedTransport transport_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Scheduler> scheduler_;
  std::atomic<int> disabled_callbacks_{0};
};

TEST_F(SchedulerTest, RetriesUntilSuccessAndRecordsEveryAttempt) {
  transport_.script("http://a.test/", {500, 502, 200});
  const auto endpoint = add_endpoint("http://a.test/");
  SchedulerConfig config;
  config.retry.schedule = {0ms, 10ms, 10ms, 10ms};
  start(config);
  const auto delivery = publish({endpoint}).front();
  ASSERT_TRUE(wait_until([&] { return state_of(delivery) == DeliveryState::succeeded; }));
  auto attempts = store_->list_attempts_for_delivery("ws", delivery);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 3u);
  EXPECT_EQ((*attempts)[0].response_status, 500);
  EXPECT_EQ((*attempts)[1].response_status, 502);
  EXPECT_EQ((*attempts)[2].response_status, 200);
  EXPECT_EQ((*attempts)[2].attempt_number, 3);
  // The same webhook-id on every try, a fresh signature each time.
  auto requests = transport_.requests();
  ASSERT_EQ(requests.size(), 3u);
  auto header = [](const OutgoingRequest& request, std::string_view name) {
    for (const auto& [key, value] : request.headers) {
      if (key == name) return value;
    }
    return std::string();
  };
  EXPECT_EQ(header(requests[0], "webhook-id"), header(requests[2], "webhook-id"));
  EXPECT_EQ(metrics_.attempts("success", "none"), 1u);
  EXPECT_EQ(metrics_.attempts("http_error", "5xx"), 2u);
}

// The value of one sample line of the exposition ("name{labels} value"), or -1.
double sample(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    if (line.starts_with(prefix)) return std::stod(line.substr(prefix.size()));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return -1;
}

TEST_F(SchedulerTest, CountsAttemptsByClassFailuresByEndpointAndDeliveryLatency) {
  transport_.script("http://flaky.test/", {503, 200});
  transport_.script("http://missing.test/", {404});
  const auto flaky = add_endpoint("http://flaky.test/");
  const auto missing = add_endpoint("http://missing.test/");
  SchedulerConfig config;
  config.retry.schedule = {0ms, 10ms};
  start(config);
  const auto deliveries = publish({flaky, missing});
  ASSERT_TRUE(wait_until([&] { return state_of(deliveries[0]) == DeliveryState::succeeded; }));
  ASSERT_TRUE(wait_until([&] { return state_of(deliveries[1]) == DeliveryState::failed; }));

  EXPECT_EQ(metrics_.attempts("success", "none"), 1u);
  EXPECT_EQ(metrics_.attempts("http_error", "5xx"), 1u);
  EXPECT_EQ(metrics_.attempts("http_error", "4xx"), 2u);
  EXPECT_EQ(metrics_.deliveries_succeeded.load(), 1u);
  EXPECT_EQ(metrics_.deliveries_failed.load(), 1u);
  const std::string text = metrics_.render_prometheus();
  EXPECT_EQ(sample(text, R"(ferry_endpoint_attempt_failures_total{workspace="ws",endpoint=")" + flaky + "\"}"), 1);
  EXPECT_EQ(sample(text, R"(ferry_endpoint_attempt_failures_total{workspace="ws",endpoint=")" + missing + "\"}"), 2);
  EXPECT_EQ(sample(text, "ferry_attempt_duration_seconds_count"), 4);
  // Only the successful delivery, once, some milliseconds after publishing.
  EXPECT_EQ(sample(text, "ferry_delivery_latency_seconds_count"), 1);
  EXPECT_GE(sample(text, "ferry_delivery_latency_seconds_sum"), 0.0);
  EXPECT_LT(sample(text, "ferry_delivery_latency_seconds_sum"), 5.0);

  // A dropped series (its endpoint was deleted) starts again from a fresh
  // counter the next time that endpoint fails.
  metrics_.retain_endpoints([&](const std::string&, const std::string& endpoint) { return endpoint != missing; });
  EXPECT_EQ(sample(metrics_.render_prometheus(),
                   R"(ferry_endpoint_attempt_failures_total{workspace="ws",endpoint=")" + missing + "\"}"),
            -1);
  const auto again = publish({missing}).front();
  ASSERT_TRUE(wait_until([&] { return state_of(again) == DeliveryState::failed; }));
  EXPECT_EQ(sample(metrics_.render_prometheus(),
                   R"(ferry_endpoint_attempt_failures_total{workspace="ws",endpoint=")" + missing + "\"}"),
            2);
}

TEST_F(SchedulerTest, GaugesShowDeliveriesInFlightAndWaitingForTheirTurn) {
  transport_.script("http://held.test/", {200});
  transport_.hold("http://held.test/");
  const auto endpoint = add_endpoint("http://held.test/");
  std::vector<std::string> deliveries;
  for (int i = 0; i < 4; ++i) deliveries.push_back(publish({endpoint}).front());
  SchedulerConfig config;
  config.endpoint_concurrency = 1;
  start(config);
  ASSERT_TRUE(wait_until([&] { return transport_.held_count() == 1; }));
  ASSERT_TRUE(wait_until([&] { return metrics_.deliveries_waiting.load() == 3; }));
  EXPECT_EQ(metrics_.deliveries_in_flight.load(), 1);
  transport_.release_held();  // and answers the rest at once
  for (const auto& delivery : deliveries) {
    ASSERT_TRUE(wait_until([&] { return state_of(delivery) == DeliveryState::succeeded; }));
  }
  ASSERT_TRUE(wait_until([&] { return metrics_.deliveries_waiting.load() == 0; }));
  EXPECT_EQ(metrics_.deliveries_in_flight.load(), 0);
}

TEST_F(SchedulerTest, FailsAfterTheLastScheduledAttempt) {
  transport_.script("http://a.test/", {500});
  const auto endpoint = add_endpoint("http://a.test/");
  SchedulerConfig config;
  config.retry.schedule = {0ms, 10ms};
  start(config);
  const auto delivery = publish({endpoint}).front();
  ASSERT_TRUE(wait_until([&] { return state_of(delivery) == DeliveryState::failed; }));
  EXPECT_EQ(transport_.sent("http://a.test/"), 2);
}

TEST_F(SchedulerTest, GoneDisablesTheEndpoint) {
  transport_.script("http://gone.test/", {410});
  const auto endpoint = add_endpoint("http://gone.test/");
  start(SchedulerConfig{});
  const auto delivery = publish({endpoint}).front();
  ASSERT_TRUE(wait_until([&] { return state_of(delivery) == DeliveryState::failed; }));
  ASSERT_TRUE(wait_until([&] { return disabled_callbacks_.load() == 1; }));
  auto stored = store_->get_endpoint("ws", endpoint);
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(stored->enabled);
  EXPECT_NE(stored->disabled_reason.find("410"), std::string::npos);
}

TEST_F(SchedulerTest, RetryAfterSetsTheNextAttempt) {
  transport_.script("http://busy.test/", {429, 200}, {{"retry-after", "30"}});
  const auto endpoint = add_endpoint("http://busy.test/");
  start(SchedulerConfig{});
  const UnixMillis before = clock_.now_ms();
  const auto delivery = publish({endpoint}).front();
  ASSERT_TRUE(wait_until([&] { return state_of(delivery) == DeliveryState::retrying; }));
  auto stored = store_->get_delivery("ws", delivery);
  ASSERT_TRUE(stored.ok());
  // 30 s, not scaled by the time factor of 0.001.
  EXPECT_GE(stored->next_attempt_at_ms, before + 30'000);
  EXPECT_LE(stored->next_attempt_at_ms, clock_.now_ms() + 30'000);
  EXPECT_EQ(transport_.sent("http://busy.test/"), 1);
}

TEST_F(SchedulerTest, ASlowEndpointDoesNotHoldBackOthers) {
  transport_.script("http://fast.test/", {200});
  transport_.script("http://slow.test/", {200});
  transport_.hold("http://slow.test/");
  const auto slow = add_endpoint("http://slow.test/");
  const auto fast = add_endpoint("http://fast.test/");
  SchedulerConfig config;
  config.endpoint_concurrency = 3;
  start(config);
  std::vector<std::string> fast_deliveries;
  for (int i = 0; i < 20; ++i) fast_deliveries.push_back(publish({slow, fast})[1]);
  ASSERT_TRUE(wait_until([&] { return transport_.sent("http://fast.test/") == 20; }));
  for (const auto& delivery : fast_deliveries) {
    ASSERT_TRUE(wait_until([&] { return state_of(delivery) == DeliveryState::succeeded; }));
  }
  // The slow endpoint never has more than its cap in flight.
  EXPECT_EQ(transport_.held_count(), 3u);
  EXPECT_EQ(transport_.sent("http://slow.test/"), 3);
  transport_.release_held();
  ASSERT_TRUE(wait_until([&] { return transport_.sent("http://slow.test/") == 20; }));
}

TEST_F(SchedulerTest, HeldBackDeliveriesGoOutAsTheEndpointIsNow) {
  transport_.script("http://old.test/", {200});
  transport_.script("http://new.test/", {200});
  transport_.hold("http://old.test/");
  const auto endpoint = add_endpoint("http://old.test/");
  std::vector<std::string> deliveries;
  for (int i = 0; i < 5; ++i) deliveries.push_back(publish({endpoint}).front());
  SchedulerConfig config;
  config.endpoint_concurrency = 1;
  start(config);  // its first claim takes all five: one goes out, four wait behind it in memory
  ASSERT_TRUE(wait_until([&] { return transport_.held_count() == 1; }));

  auto changed = store_->get_endpoint("ws", endpoint);
  ASSERT_TRUE(changed.ok());
  const std::string old_secret = changed->secrets.front();
  changed->url = "http://new.test/";
  const std::string new_secret = generate_secret();
  changed->secrets = {new_secret};
  ASSERT_TRUE(store_->update_endpoint(*changed).ok());
  scheduler_->endpoints_changed("ws", endpoint);
  std::this_thread::sleep_for(50ms);
  transport_.release_held();

  for (const auto& delivery : deliveries) {
    ASSERT_TRUE(wait_until([&] { return state_of(delivery) == DeliveryState::succeeded; }));
  }
  EXPECT_EQ(transport_.sent("http://old.test/"), 1);
  EXPECT_EQ(transport_.sent("http://new.test/"), 4);
  // Signed with the secret the endpoint has now.
  for (const auto& request : transport_.requests()) {
    if (request.url != "http://new.test/") continue;
    std::string id, timestamp, signature;
    for (const auto& [name, value] : request.headers) {
      if (name == "webhook-id") id = value;
      if (name == "webhook-timestamp") timestamp = value;
      if (name == "webhook-signature") signature = value;
    }
    EXPECT_TRUE(verify_standard_webhooks(*secret_key(new_secret), id, std::stoll(timestamp), request.body, signature));
    EXPECT_FALSE(verify_standard_webhooks(*secret_key(old_secret), id, std::stoll(timestamp), request.body, signature));
  }
}

TEST_F(SchedulerTest, NothingHeldBackGoesOutOnceTheEndpointIsDisabledOrDeleted) {
  for (const bool remove : {false, true}) {
    SCOPED_TRACE(remove ? "deleted" : "disabled");
    const std::string url = remove ? "http://deleted.test/" : "http://disabled.test/";
    transport_.script(url, {200});
    transport_.hold(url);
    const auto endpoint = add_endpoint(url);
    std::vector<std::string> deliveries;
    for (int i = 0; i < 5; ++i) deliveries.push_back(publish({endpoint}).front());
    SchedulerConfig config;
    config.endpoint_concurrency = 1;
    start(config);  // one goes out, four wait behind it in memory
    ASSERT_TRUE(wait_until([&] { return transport_.held_count() == 1; }));

    if (remove) {
      ASSERT_TRUE(store_->delete_endpoint("ws", endpoint).ok());
    } else {
      auto changed = store_->get_endpoint("ws", endpoint);
      ASSERT_TRUE(changed.ok());
      changed->enabled = false;
      changed->disabled_reason = "disabled through the API";
      ASSERT_TRUE(store_->update_endpoint(*changed).ok());
    }
    scheduler_->endpoints_changed("ws", "");
    std::this_thread::sleep_for(50ms);
    transport_.release_held();
    std::this_thread::sleep_for(200ms);

    EXPECT_EQ(transport_.sent(url), 1);
    scheduler_->stop(0ms);
    scheduler_.reset();
    if (!remove) {
      for (std::size_t i = 1; i < deliveries.size(); ++i) EXPECT_EQ(state_of(deliveries[i]), DeliveryState::failed);
    }
  }
}

}  // namespace
}  // namespace ferry
