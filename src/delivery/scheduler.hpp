#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/retry_policy.hpp"
#include "core/token_bucket.hpp"
#include "core/wire_profile.hpp"
#include "delivery/attempt_recorder.hpp"
#include "delivery/transport.hpp"
#include "store/store.hpp"

namespace ferry {

struct SchedulerConfig {
  RetryPolicy retry;
  int endpoint_concurrency = 8;  // attempts in flight per endpoint
  int max_in_flight = 1024;      // attempts in flight in total (claimed and waiting included)
  int claim_batch = 256;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{15000};
  std::size_t max_response_body = 64 * 1024;
  std::string user_agent = "Ferry";
  // How long a claimed delivery stays reserved for this process. When the
  // process dies, others sharing the store take its work over after this.
  // Must exceed request_timeout: a delivery still waiting when less than
  // request_timeout of its lease is left is given back, not sent.
  std::chrono::milliseconds lease{std::chrono::seconds(60)};
  // Longest sleep when nothing is known to be due (the store is the truth;
  // this bounds how late work from elsewhere is noticed).
  std::chrono::milliseconds idle_poll{1000};
  // The wire profile a delivery to this endpoint goes out in (its own, or
  // its workspace's). Unset: the built-in the endpoint names, else Standard
  // Webhooks.
  std::function<const WireProfile&(const Endpoint&)> profile_for;
};

// Moves due deliveries from the store to the transport and their outcomes
// back: claims due work in batches, keeps each endpoint under its in-flight
// cap and rate limit (so one slow endpoint never holds back the others),
// decides retries, and records every attempt. One thread, plus the
// AttemptRecorder's, which writes outcomes while this one keeps sending; the
// store stays the truth, so a restart carries on where a crash left off.
class Scheduler {
 public:
  // `on_endpoint_disabled(workspace_id)` runs after a delivery outcome disabled an endpoint.
  Scheduler(Store& store, Transport& transport, const Clock& clock, Metrics& metrics, SchedulerConfig config,
            std::function<void(const std::string&)> on_endpoint_disabled);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void start();
  // Work may be due now (a resend, another node's publish). Safe from any thread.
  void wake();
  // Deliveries this process has just committed: claimed by key and sent at
  // once while their endpoint keeps up, else left to the scan of due work,
  // which takes them oldest first. Safe from any thread.
  void deliver_new(std::vector<NewDelivery> deliveries);
  // An endpoint was changed, disabled or deleted (empty `endpoint_id`: any
  // of the workspace's). Deliveries held back for it go out with its new
  // URL, secret, headers and rate limit, or not at all once it is gone or
  // disabled. Safe from any thread.
  void endpoints_changed(std::string workspace_id, std::string endpoint_id);
  // Stops claiming, waits up to `grace` for attempts in flight and records
  // them, gives back the leases of claimed deliveries not yet sent, then
  // returns. Attempts still in flight after `grace` stay leased until their
  // lease expires. Idempotent.
  void stop(std::chrono::milliseconds grace);

 private:
  struct Completion {
    DueDelivery due;
    HeaderList request_headers;
    UnixMillis started_at_ms = 0;
    TransportResponse response;
  };
  struct Claimed {
    DueDelivery due;
    UnixMillis lease_until_ms = 0;
  };
  struct EndpointState {
    int in_flight = 0;
    std::deque<Claimed> waiting;  // claimed, held back by the cap or the rate limit
    TokenBucket rate_limit;
    // The store may hold due work of this endpoint that only a scan finds:
    // new deliveries then wait their turn there, behind the older ones.
    bool backlog_in_store = false;
  };

  void run();
  void record(std::vector<Completion>& completions);
  AttemptRecord to_record(Completion& completion, UnixMillis now);
  // Counts an attempt's outcome in the metrics.
  void count(const AttemptRecord& record, const Message& message);
  struct ClaimOutcome {
    bool full = false;           // claimed as many as asked: more is probably due
    bool starved = false;        // claimed fewer while leaving saturated endpoints out
    bool excluded_some = false;  // saturated endpoints were left out
  };
  ClaimOutcome claim(UnixMillis now);
  void claim_new(std::vector<NewDelivery> deliveries, UnixMillis now);
  bool saturated(const EndpointState& state) const;
  // Deliveries this process may still claim: max_in_flight less those in
  // flight, waiting, or whose outcome is not written yet.
  int free_slots() const;
  // The recorder wrote retries: the next due time may have moved.
  void retries_recorded();
  // A scan that was skipped because it would only find saturated endpoints'
  // work is worth doing again once one of them has room.
  bool claim_worthwhile(UnixMillis now) const;
  void dispatch_waiting(UnixMillis now);
  struct ChangedEndpoints {
    std::string workspace_id;
    std::string endpoint_id;  // empty: all of the workspace's
  };
  void refresh_waiting(const std::vector<ChangedEndpoints>& changes);
  // Sends now if the endpoint has room, else queues it.
  void offer(Claimed claimed, UnixMillis now);
  // Gives the leases of deliveries this process will not send back to the store.
  void release(std::vector<DeliveryRef> deliveries);
  bool take_token(EndpointState& state, const Endpoint& endpoint, UnixMillis now);
  void send(DueDelivery due, EndpointState& state, UnixMillis now);
  UnixMillis next_wake(UnixMillis now, const ClaimOutcome& outcome, bool claim_deferred);

  Store& store_;
  Transport& transport_;
  const Clock& clock_;
  Metrics& metrics_;
  SchedulerConfig config_;
  AttemptRecorder recorder_;

  // Owned by the scheduler thread.
  std::unordered_map<std::string, EndpointState> endpoints_;
  // Each failing endpoint's counter in metrics_, so counting takes no lock.
  std::unordered_map<std::string, std::shared_ptr<Metrics::EndpointCounter>> failure_counters_;
  std::size_t failure_counters_sweep_at_ = 1024;
  int in_flight_ = 0;
  int waiting_ = 0;
  // After a claim that found nothing but saturated endpoints' work, the next
  // one waits until then (or until one of them has room): walking their
  // backlog again at every wake-up would cost a scan of every due delivery
  // each time and find nothing new. The pause doubles while that goes on.
  UnixMillis claim_quiet_until_ = 0;
  UnixMillis starved_pause_ms_ = 0;
  // A timer wake-up from then on may find work from elsewhere (another
  // node's, a retry come due) and ends the pause. Earlier ones, for a
  // rate-limited endpoint's next token or the pause's own end, do not: they
  // came every 20 ms and each walked the limited endpoint's whole backlog.
  UnixMillis rescan_at_ = 0;
  // The earliest due time of unleased work, as last read from the store;
  // read again when something may have changed it.
  std::optional<UnixMillis> next_due_;
  bool next_due_stale_ = true;

  std::mutex mutex_;
  std::condition_variable wake_cv_;
  std::vector<Completion> completions_;
  std::vector<NewDelivery> new_deliveries_;
  std::vector<ChangedEndpoints> changed_endpoints_;
  bool woken_ = false;
  bool rescan_ = false;       // wake(): scan for due work even if the pause is not over
  bool recheck_due_ = false;  // recorded retries: read the next due time again
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stop_deadline_;
  std::thread thread_;
};

}  // namespace ferry
