#include "ingest/ingestor.hpp"

#include "core/ids.hpp"

namespace ferry {

Ingestor::Ingestor(Store& store, const SubscriptionIndex& subscriptions, const Clock& clock, IngestConfig config,
                   DeliveriesCreated on_committed)
    : store_(store),
      subscriptions_(subscriptions),
      clock_(clock),
      config_(config),
      on_committed_(std::move(on_committed)) {
  // Started once every member exists.
  committer_ = std::thread([this] { run(); });
  answerer_ = std::thread([this] { run_answers(); });
}

Ingestor::~Ingestor() { stop(); }

PublishRequest Ingestor::make_request(const std::string& workspace_id, ParsedMessage parsed, bool test,
                                      UnixMillis now) {
  PublishRequest request;
  Message& message = request.message;
  message.id = parsed.id ? std::move(*parsed.id) : new_id("msg", now);
  message.workspace_id = workspace_id;
  message.type = std::move(parsed.type);
  message.payload = std::move(parsed.data);
  message.created_at_ms = now;
  message.idempotency_key = std::move(parsed.idempotency_key);
  message.test = test || parsed.test;
  message.flags = std::move(parsed.flags);
  return request;
}

void Ingestor::publish(const std::string& workspace_id, std::vector<ParsedMessage> messages, Callback done) {
  const UnixMillis now = clock_.now_ms();
  const auto subscriptions = subscriptions_.workspace(workspace_id);
  Pending pending;
  pending.done = std::move(done);
  pending.requests.reserve(messages.size());
  for (auto& parsed : messages) {
    PublishRequest request = make_request(workspace_id, std::move(parsed), false, now);
    if (subscriptions) {
      for (auto& endpoint_id : subscriptions->endpoints_for(request.message.type)) {
        request.targets.push_back({std::move(endpoint_id), new_id("dlv", now)});
      }
    }
    pending.requests.push_back(std::move(request));
  }
  enqueue(std::move(pending));
}

void Ingestor::publish_test(const std::string& workspace_id, ParsedMessage message, const std::string& endpoint_id,
                            Callback done) {
  const UnixMillis now = clock_.now_ms();
  Pending pending;
  pending.done = std::move(done);
  PublishRequest request = make_request(workspace_id, std::move(message), true, now);
  request.targets.push_back({endpoint_id, new_id("dlv", now)});
  pending.requests.push_back(std::move(request));
  enqueue(std::move(pending));
}

void Ingestor::enqueue(Pending pending) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(pending));
      wake_.notify_one();
      return;
    }
  }
  pending.done(make_error(ErrorCode::unavailable, "server is shutting down"));
}

void Ingestor::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (committer_.joinable()) committer_.join();
  {
    std::lock_guard lock(answers_mutex_);
    answers_closed_ = true;
  }
  answers_wake_.notify_all();
  if (answerer_.joinable()) answerer_.join();
}

void Ingestor::answer(std::vector<std::function<void()>> answers) {
  {
    std::lock_guard lock(answers_mutex_);
    answers_.push_back(std::move(answers));
  }
  answers_wake_.notify_one();
}

void Ingestor::run_answers() {
  while (true) {
    std::vector<std::function<void()>> answers;
    {
      std::unique_lock lock(answers_mutex_);
      answers_wake_.wait(lock, [this] { return answers_closed_ || !answers_.empty(); });
      if (answers_.empty()) return;  // closed, and everything is answered
      answers = std::move(answers_.front());
      answers_.pop_front();
    }
    for (auto& answer : answers) answer();
  }
}

void Ingestor::run() {
  std::vector<Pending> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is committed
      std::size_t messages = 0;
      while (!queue_.empty() &&
             (batch.empty() || messages + queue_.front().requests.size() <= config_.max_messages_per_commit)) {
        messages += queue_.front().requests.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit(batch);
    batch.clear();
  }
}

void Ingestor::commit(std::vector<Pending>& batch) {
  std::vector<PublishRequest> requests;
  for (auto& pending : batch) {
    for (auto& request : pending.requests) requests.push_back(std::move(request));
  }
  auto outcomes = store_.publish(requests, clock_.now_ms(), config_.idempotency_window_ms);
  std::vector<std::function<void()>> answers;
  answers.reserve(batch.size());
  if (!outcomes) {
    for (auto& pending : batch) {
      answers.emplace_back([done = std::move(pending.done), error = outcomes.error()] { done(error); });
    }
    answer(std::move(answers));
    return;
  }
  // The targets of a duplicate were never stored; those of an endpoint
  // disabled meanwhile neither, and the scheduler's claim by key skips them.
  std::vector<NewDelivery> created;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const PublishOutcome& outcome = (*outcomes)[i];
    if (outcome.error || outcome.duplicate || outcome.deliveries_created == 0) continue;
    for (auto& target : requests[i].targets) {
      created.push_back(
          {{requests[i].message.workspace_id, std::move(target.delivery_id)}, std::move(target.endpoint_id)});
    }
  }
  if (!created.empty() && on_committed_) on_committed_(std::move(created));
  std::size_t next = 0;
  for (auto& pending : batch) {
    std::vector<PublishOutcome> mine;
    mine.reserve(pending.requests.size());
    for (std::size_t i = 0; i < pending.requests.size(); ++i) mine.push_back(std::move((*outcomes)[next++]));
    answers.emplace_back([done = std::move(pending.done), mine = std::move(mine)]() mutable { done(std::move(mine)); });
  }
  answer(std::move(answers));
}

}  // namespace ferry
