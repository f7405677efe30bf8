#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/subscription_index.hpp"
#include "ingest/publish_parser.hpp"
#include "store/store.hpp"

namespace ferry {

struct IngestConfig {
  // Upper bound of messages in one transaction.
  std::size_t max_messages_per_commit = 4096;
  UnixMillis idempotency_window_ms = 24LL * 3600 * 1000;
};

// Turns published messages into stored messages and deliveries.
//
// Group commit: callers on any thread hand over their messages; one
// committer thread writes everything that queued up while the previous
// transaction was being flushed in ONE transaction, so many concurrent
// publishes share one disk flush. Callbacks run only after the commit is
// durable, on a thread of their own: answering a large batch (its JSON) must
// not hold up the next commit.
class Ingestor {
 public:
  using Callback = std::function<void(Result<std::vector<PublishOutcome>>)>;

  // Gets the deliveries of each commit that created some, once they are
  // durable (for the scheduler to send them at once).
  using DeliveriesCreated = std::function<void(std::vector<NewDelivery>)>;

  Ingestor(Store& store, const SubscriptionIndex& subscriptions, const Clock& clock, IngestConfig config,
           DeliveriesCreated on_committed);
  ~Ingestor();
  Ingestor(const Ingestor&) = delete;
  Ingestor& operator=(const Ingestor&) = delete;

  // Fans the messages out to the workspace's subscribed endpoints and queues
  // them. `done` gets one outcome per message, in order, or the error that
  // stopped the whole transaction. Safe for concurrent use.
  void publish(const std::string& workspace_id, std::vector<ParsedMessage> messages, Callback done);

  // Queues one test message addressed to `endpoint_id` only.
  void publish_test(const std::string& workspace_id, ParsedMessage message, const std::string& endpoint_id,
                    Callback done);

  // Commits everything queued, then stops the committer. Later publishes fail
  // with `unavailable`. Idempotent.
  void stop();

 private:
  struct Pending {
    std::vector<PublishRequest> requests;
    Callback done;
  };

  PublishRequest make_request(const std::string& workspace_id, ParsedMessage parsed, bool test, UnixMillis now);
  void enqueue(Pending pending);
  void run();
  void commit(std::vector<Pending>& batch);
  // Hands the callbacks of one commit to the answering thread.
  void answer(std::vector<std::function<void()>> answers);
  void run_answers();

  Store& store_;
  const SubscriptionIndex& subscriptions_;
  const Clock& clock_;
  IngestConfig config_;
  DeliveriesCreated on_committed_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread committer_;

  std::mutex answers_mutex_;
  std::condition_variable answers_wake_;
  std::deque<std::vector<std::function<void()>>> answers_;
  bool answers_closed_ = false;
  std::thread answerer_;
};

}  // namespace ferry
