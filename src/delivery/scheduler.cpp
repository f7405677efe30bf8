#include "delivery/scheduler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "core/ids.hpp"
#include "core/wire_profile.hpp"

namespace ferry {

Scheduler::Scheduler(Store& store, Transport& transport, const Clock& clock, Metrics& metrics, SchedulerConfig config,
                     std::function<void(const std::string&)> on_endpoint_disabled)
    : store_(store),
      transport_(transport),
      clock_(clock),
      metrics_(metrics),
      config_(std::move(config)),
      recorder_(store, {std::move(on_endpoint_disabled), [this] { retries_recorded(); }}) {}

Scheduler::~Scheduler() { stop(std::chrono::milliseconds(0)); }

namespace {
// Time kept in hand at the end of a lease to record the attempt's outcome.
constexpr UnixMillis kLeaseMarginMs = 2000;
// Pause after a claim starved by saturated endpoints (see claim_quiet_until_).
constexpr UnixMillis kFirstStarvedPauseMs = 20;
constexpr UnixMillis kLongestStarvedPauseMs = 1000;
// New deliveries an endpoint may hold in memory beyond its concurrency
// before the rest wait in the store.
constexpr int kNewDeliveriesBuffered = 64;
}  // namespace

void Scheduler::start() {
  recorder_.start();
  thread_ = std::thread([this] { run(); });
}

void Scheduler::release(std::vector<DeliveryRef> deliveries) {
  if (deliveries.empty()) return;
  if (auto released = store_.release_leases(deliveries); !released) {
    // Harmless: the leases expire by themselves.
    spdlog::warn("could not give back {} delivery leases: {}", deliveries.size(), released.error().message);
  }
}

void Scheduler::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
    rescan_ = true;
  }
  wake_cv_.notify_one();
}

void Scheduler::retries_recorded() {
  {
    std::lock_guard lock(mutex_);
    recheck_due_ = true;
    woken_ = true;
  }
  wake_cv_.notify_one();
}

void Scheduler::deliver_new(std::vector<NewDelivery> deliveries) {
  {
    std::lock_guard lock(mutex_);
    // Beyond what the scheduler could hold anyway, they are left to the scan.
    const auto room = static_cast<std::size_t>(config_.max_in_flight) * 2;
    if (new_deliveries_.size() + deliveries.size() > room) {
      rescan_ = true;
    } else if (new_deliveries_.empty()) {
      new_deliveries_ = std::move(deliveries);
    } else {
      std::move(deliveries.begin(), deliveries.end(), std::back_inserter(new_deliveries_));
    }
    woken_ = true;
  }
  wake_cv_.notify_one();
}

void Scheduler::endpoints_changed(std::string workspace_id, std::string endpoint_id) {
  {
    std::lock_guard lock(mutex_);
    changed_endpoints_.push_back({std::move(workspace_id), std::move(endpoint_id)});
    woken_ = true;
  }
  wake_cv_.notify_one();
}

void Scheduler::refresh_waiting(const std::vector<ChangedEndpoints>& changes) {
  for (auto& [endpoint_id, state] : endpoints_) {
    if (state.waiting.empty()) continue;
    const Endpoint& held = state.waiting.front().due.endpoint;
    const auto& id = endpoint_id;  // clang before 16 cannot capture a structured binding
    const bool changed = std::any_of(changes.begin(), changes.end(), [&](const ChangedEndpoints& change) {
      return change.workspace_id == held.workspace_id && (change.endpoint_id.empty() || change.endpoint_id == id);
    });
    if (!changed) continue;
    auto current = store_.get_endpoint(held.workspace_id, endpoint_id);
    if (!current && current.error().code != ErrorCode::not_found) {
      // Sent as they were, as before the change; a later change retries.
      spdlog::warn("cannot read endpoint {} back after a change: {}", endpoint_id, current.error().message);
      continue;
    }
    if (!current || !current->enabled) {
      // Deleting an endpoint deletes its deliveries, disabling it fails
      // them: nothing held for it may go out any more.
      waiting_ -= static_cast<int>(state.waiting.size());
      state.waiting.clear();
      continue;
    }
    for (auto& claimed : state.waiting) claimed.due.endpoint = *current;
    if (current->rate_limit && *current->rate_limit > 0) {
      state.rate_limit.cap(*current->rate_limit);
    } else {
      state.rate_limit.reset();
    }
  }
}

void Scheduler::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_ = std::chrono::steady_clock::now() + grace;
    }
  }
  wake_cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::run() {
  UnixMillis wake_at = clock_.now_ms();
  while (true) {
    std::vector<Completion> completions;
    std::vector<NewDelivery> new_deliveries;
    std::vector<ChangedEndpoints> changed_endpoints;
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      const auto delay = std::chrono::milliseconds(std::max<UnixMillis>(0, wake_at - clock_.now_ms()));
      const bool woken =
          wake_cv_.wait_for(lock, delay, [this] { return stopping_ || woken_ || !completions_.empty(); });
      completions.swap(completions_);
      new_deliveries.swap(new_deliveries_);
      changed_endpoints.swap(changed_endpoints_);
      woken_ = false;
      if (rescan_ || (!woken && clock_.now_ms() >= rescan_at_)) {
        // Asked to, or the timer for work from elsewhere.
        claim_quiet_until_ = 0;
        starved_pause_ms_ = 0;
        next_due_stale_ = true;
      }
      if (recheck_due_) next_due_stale_ = true;
      rescan_ = recheck_due_ = false;
      stopping = stopping_;
      if (stopping && (in_flight_ - static_cast<int>(completions.size()) <= 0 ||
                       std::chrono::steady_clock::now() >= stop_deadline_)) {
        lock.unlock();
        record(completions);
        std::vector<DeliveryRef> unsent;
        for (auto& [id, state] : endpoints_) {
          for (const auto& claimed : state.waiting) {
            unsent.push_back({claimed.due.delivery.workspace_id, claimed.due.delivery.id});
          }
        }
        release(std::move(unsent));
        metrics_.deliveries_waiting.store(0, std::memory_order_relaxed);
        recorder_.stop(stop_deadline_);
        return;
      }
    }
    record(completions);
    if (stopping) {
      wake_at = clock_.now_ms() + 10;
      continue;
    }
    const UnixMillis now = clock_.now_ms();
    if (!changed_endpoints.empty()) refresh_waiting(changed_endpoints);
    dispatch_waiting(now);
    claim_new(std::move(new_deliveries), now);
    ClaimOutcome outcome;
    const bool claim_deferred = !claim_worthwhile(now);
    if (!claim_deferred) {
      outcome = claim(now);
      // Only a claim that left saturated endpoints out tells whether others
      // have work. One that left nobody out (an endpoint refilling its
      // backlog) says nothing of them, so the pause goes on: ending it there
      // made every refill followed by a scan that walked the refilled
      // endpoint's whole backlog in the store only to skip it.
      if (outcome.starved) {
        starved_pause_ms_ = std::clamp(starved_pause_ms_ * 2, kFirstStarvedPauseMs, kLongestStarvedPauseMs);
        claim_quiet_until_ = now + starved_pause_ms_;
      } else if (outcome.excluded_some) {
        starved_pause_ms_ = 0;
        claim_quiet_until_ = 0;
      }
    }
    wake_at = next_wake(now, outcome, claim_deferred);
    metrics_.deliveries_waiting.store(waiting_, std::memory_order_relaxed);
  }
}

int Scheduler::free_slots() const {
  return config_.max_in_flight - in_flight_ - waiting_ - static_cast<int>(recorder_.unwritten());
}

bool Scheduler::saturated(const EndpointState& state) const {
  return state.in_flight >= config_.endpoint_concurrency || !state.waiting.empty();
}

bool Scheduler::claim_worthwhile(UnixMillis now) const {
  if (now >= claim_quiet_until_) return true;
  return std::any_of(endpoints_.begin(), endpoints_.end(),
                     [this](const auto& entry) { return entry.second.backlog_in_store && !saturated(entry.second); });
}

UnixMillis Scheduler::next_wake(UnixMillis now, const ClaimOutcome& outcome, bool claim_deferred) {
  if (outcome.full) {
    rescan_at_ = now;
    return now;  // more is probably due
  }
  if (claim_deferred) return claim_quiet_until_;
  UnixMillis wake_at = now + config_.idle_poll.count();
  if (in_flight_ + waiting_ < config_.max_in_flight) {
    // Work due already was either claimed just now or belongs to endpoints
    // left out as saturated, whose completions wake this thread anyway; only
    // a due time still to come is worth a timer.
    if (next_due_stale_) {
      if (auto due = store_.next_due_time(); due) {
        next_due_ = *due;
        next_due_stale_ = false;
      }
    }
    if (next_due_ && *next_due_ > now) wake_at = std::min(wake_at, *next_due_);
  }
  rescan_at_ = wake_at;
  // Endpoints held back only by their rate limit get a token within 1/rate s.
  for (const auto& [id, state] : endpoints_) {
    if (!state.waiting.empty() && state.in_flight < config_.endpoint_concurrency) {
      wake_at = std::min(wake_at, now + 20);
    }
  }
  return wake_at;
}

Scheduler::ClaimOutcome Scheduler::claim(UnixMillis now) {
  const int room = free_slots();
  if (room <= 0) return {};
  // Endpoints that cannot take more right now are left out of the claim, so
  // their backlog does not crowd out everyone else's due work.
  std::vector<std::string> excluded;
  for (const auto& [id, state] : endpoints_) {
    if (saturated(state)) excluded.push_back(id);
  }
  const UnixMillis lease_until = now + config_.lease.count();
  const int limit = std::min(room, config_.claim_batch);
  auto due = store_.claim_due_deliveries(now, limit, lease_until, excluded);
  if (!due) {
    spdlog::error("claiming due deliveries failed: {}", due.error().message);
    return {};
  }
  ClaimOutcome outcome;
  outcome.full = static_cast<int>(due->size()) >= limit;
  outcome.excluded_some = !excluded.empty();
  outcome.starved = !outcome.full && outcome.excluded_some;
  if (!due->empty()) next_due_stale_ = true;
  for (auto& [id, state] : endpoints_) {
    // Fewer than asked for: the store has nothing more due for the endpoints
    // that took part; those left out may still have a backlog there.
    if (saturated(state)) {
      state.backlog_in_store = true;
    } else if (!outcome.full) {
      state.backlog_in_store = false;
    }
  }
  for (auto& delivery : *due) offer(Claimed{std::move(delivery), lease_until}, now);
  return outcome;
}

void Scheduler::claim_new(std::vector<NewDelivery> deliveries, UnixMillis now) {
  if (deliveries.empty()) return;
  int room = free_slots();
  std::unordered_map<std::string, int> taken;
  std::vector<DeliveryRef> wanted;
  for (auto& delivery : deliveries) {
    EndpointState& state = endpoints_[delivery.endpoint_id];
    int& already = taken[delivery.endpoint_id];
    const int held = state.in_flight + static_cast<int>(state.waiting.size()) + already;
    if (room <= 0 || state.backlog_in_store || held >= config_.endpoint_concurrency + kNewDeliveriesBuffered) {
      // Found by the scan instead, in due order with what waits there already.
      state.backlog_in_store = true;
      continue;
    }
    ++already;
    --room;
    wanted.push_back(std::move(delivery.ref));
  }
  if (wanted.empty()) return;
  const UnixMillis lease_until = now + config_.lease.count();
  auto claimed = store_.claim_deliveries(wanted, now, lease_until);
  if (!claimed) {
    spdlog::error("claiming new deliveries failed: {}", claimed.error().message);
    for (const auto& [endpoint_id, count] : taken) endpoints_[endpoint_id].backlog_in_store = true;
    return;
  }
  for (auto& delivery : *claimed) offer(Claimed{std::move(delivery), lease_until}, now);
}

void Scheduler::offer(Claimed claimed, UnixMillis now) {
  EndpointState& state = endpoints_[claimed.due.endpoint.id];
  if (state.waiting.empty() && state.in_flight < config_.endpoint_concurrency &&
      take_token(state, claimed.due.endpoint, now)) {
    send(std::move(claimed.due), state, now);
    return;
  }
  state.waiting.push_back(std::move(claimed));
  ++waiting_;
}

void Scheduler::dispatch_waiting(UnixMillis now) {
  // A delivery whose lease would run out before its attempt could finish is
  // given back instead of sent: once the lease expires another process may
  // claim it, and two senders would deliver it twice.
  const UnixMillis latest_lease_end = now + config_.request_timeout.count() + kLeaseMarginMs;
  std::vector<DeliveryRef> stale;
  for (auto it = endpoints_.begin(); it != endpoints_.end();) {
    EndpointState& state = it->second;
    while (!state.waiting.empty() && state.waiting.front().lease_until_ms < latest_lease_end) {
      const Delivery& delivery = state.waiting.front().due.delivery;
      stale.push_back({delivery.workspace_id, delivery.id});
      state.waiting.pop_front();
      --waiting_;
    }
    while (!state.waiting.empty() && state.in_flight < config_.endpoint_concurrency &&
           take_token(state, state.waiting.front().due.endpoint, now)) {
      DueDelivery due = std::move(state.waiting.front().due);
      state.waiting.pop_front();
      --waiting_;
      send(std::move(due), state, now);
    }
    if (state.in_flight == 0 && state.waiting.empty() && !state.rate_limit.used() && !state.backlog_in_store) {
      it = endpoints_.erase(it);
    } else {
      ++it;
    }
  }
  release(std::move(stale));
}

bool Scheduler::take_token(EndpointState& state, const Endpoint& endpoint, UnixMillis now) {
  if (!endpoint.rate_limit || *endpoint.rate_limit <= 0) return true;
  return state.rate_limit.take(*endpoint.rate_limit, now);
}

void Scheduler::send(DueDelivery due, EndpointState& state, UnixMillis now) {
  Result<WireRequest> wire = [&] {
    if (!config_.profile_for) return render_wire_request(due.message, due.endpoint, now, config_.user_agent);
    const WireContext context{due.message, due.endpoint, due.delivery.id, now, config_.user_agent};
    return render_wire_request(config_.profile_for(due.endpoint), context);
  }();
  OutgoingRequest request;
  request.url = due.endpoint.url;
  request.connect_timeout = config_.connect_timeout;
  request.total_timeout = config_.request_timeout;
  request.max_response_body = config_.max_response_body;
  HeaderList request_headers;
  if (wire) {
    request.headers = std::move(wire->headers);
    request.body = std::move(wire->body);
    request_headers = request.headers;
  }
  ++state.in_flight;
  ++in_flight_;
  metrics_.deliveries_in_flight.fetch_add(1, std::memory_order_relaxed);
  auto completion = std::make_shared<Completion>();
  completion->due = std::move(due);
  completion->request_headers = std::move(request_headers);
  completion->started_at_ms = now;
  auto finish = [this, completion](TransportResponse response) {
    completion->response = std::move(response);
    bool first = false;
    {
      std::lock_guard lock(mutex_);
      // The scheduler takes every completion at once: only the first into an
      // empty list needs to wake it, saving a futex call per response.
      first = completions_.empty();
      completions_.push_back(std::move(*completion));
    }
    if (first) wake_cv_.notify_one();
  };
  if (!wire) {
    // Cannot happen for secrets validated on the way in; recorded, not thrown.
    TransportResponse failed;
    failed.error = "other";
    failed.error_detail = "could not sign the request: " + wire.error().message;
    finish(std::move(failed));
    return;
  }
  transport_.send(std::move(request), std::move(finish));
}

void Scheduler::count(const AttemptRecord& record, const Message& message) {
  const Attempt& attempt = record.attempt;
  const std::size_t outcome = attempt_class(attempt.response_status, attempt.error);
  metrics_.count_attempt(outcome, static_cast<double>(attempt.latency_us) / 1e6);
  if (record.new_state == DeliveryState::succeeded) {
    metrics_.deliveries_succeeded.fetch_add(1, std::memory_order_relaxed);
    // From the message's creation (on whichever node) to the end of this attempt.
    const UnixMillis delivered_at = attempt.started_at_ms + attempt.latency_us / 1000;
    metrics_.observe_delivery_latency(static_cast<double>(delivered_at - message.created_at_ms) / 1e3);
  }
  if (record.new_state == DeliveryState::failed) metrics_.deliveries_failed.fetch_add(1, std::memory_order_relaxed);
  if (kAttemptClasses[outcome].outcome == "success") return;
  auto it = failure_counters_.find(attempt.endpoint_id);
  if (it == failure_counters_.end() || it->second->dropped.load(std::memory_order_relaxed)) {
    // Handles whose series went away (deleted endpoints) would pile up.
    if (failure_counters_.size() >= failure_counters_sweep_at_) {
      std::erase_if(failure_counters_,
                    [](const auto& entry) { return entry.second->dropped.load(std::memory_order_relaxed); });
      failure_counters_sweep_at_ = std::max<std::size_t>(1024, failure_counters_.size() * 2);
    }
    auto counter = metrics_.endpoint_counter(attempt.workspace_id, attempt.endpoint_id);
    it = failure_counters_.insert_or_assign(attempt.endpoint_id, std::move(counter)).first;
  }
  it->second->failures.fetch_add(1, std::memory_order_relaxed);
}

AttemptRecord Scheduler::to_record(Completion& completion, UnixMillis now) {
  const DueDelivery& due = completion.due;
  TransportResponse& response = completion.response;
  AttemptRecord record;
  record.lease_token = due.delivery.lease_token;
  Attempt& attempt = record.attempt;
  attempt.id = new_id("atm", completion.started_at_ms);
  attempt.workspace_id = due.delivery.workspace_id;
  attempt.delivery_id = due.delivery.id;
  attempt.message_id = due.message.id;
  attempt.endpoint_id = due.endpoint.id;
  attempt.attempt_number = due.delivery.attempt_count + 1;
  attempt.started_at_ms = completion.started_at_ms;
  attempt.latency_us = response.latency_us;
  attempt.url = due.endpoint.url;
  for (auto& [name, value] : completion.request_headers) {
    attempt.request_headers.emplace_back(name, is_sensitive_header(name) ? "[redacted]" : std::move(value));
  }
  attempt.response_status = response.status;
  attempt.response_headers = std::move(response.headers);
  attempt.response_body = std::move(response.body);
  attempt.error = std::move(response.error);
  attempt.error_detail = std::move(response.error_detail);

  AttemptResult result{attempt.attempt_number, attempt.response_status, std::nullopt};
  for (const auto& [name, value] : attempt.response_headers) {
    if (name == "retry-after") result.retry_after = parse_retry_after(value, now);
  }
  const RetryDecision decision = decide_retry(config_.retry, result, now, random_unit());
  record.new_state = decision.state;
  record.next_attempt_at_ms = decision.next_attempt_at_ms;
  record.disable_endpoint_reason = decision.disable_endpoint_reason;
  return record;
}

void Scheduler::record(std::vector<Completion>& completions) {
  if (completions.empty()) return;
  const UnixMillis now = clock_.now_ms();
  std::vector<AttemptRecord> records;
  records.reserve(completions.size());
  for (auto& completion : completions) {
    auto it = endpoints_.find(completion.due.endpoint.id);
    if (it != endpoints_.end()) --it->second.in_flight;
    --in_flight_;
    metrics_.deliveries_in_flight.fetch_sub(1, std::memory_order_relaxed);
    AttemptRecord record = to_record(completion, now);
    const Attempt& attempt = record.attempt;
    count(record, completion.due.message);
    spdlog::debug("attempt {} delivery={} endpoint={} status={} error={} latency_ms={:.1f} next={}", attempt.id,
                  attempt.delivery_id, attempt.endpoint_id,
                  attempt.response_status ? std::to_string(*attempt.response_status) : "-",
                  attempt.error.empty() ? "-" : attempt.error, static_cast<double>(attempt.latency_us) / 1000.0,
                  delivery_state_name(record.new_state));
    if (record.disable_endpoint_reason) {
      metrics_.endpoints_disabled.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("endpoint {} disabled: {}", attempt.endpoint_id, *record.disable_endpoint_reason);
      // Its held-back deliveries are failed in the store with the endpoint; drop them here.
      if (it != endpoints_.end()) {
        waiting_ -= static_cast<int>(it->second.waiting.size());
        it->second.waiting.clear();
      }
    }
    records.push_back(std::move(record));
  }
  recorder_.add(std::move(records));
}

}  // namespace ferry
