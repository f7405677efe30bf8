#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "delivery/target_policy.hpp"
#include "delivery/transport.hpp"

namespace ferry {

struct CurlTransportConfig {
  TargetPolicy policy;                   // judged on every address a connection is opened to
  std::string user_agent = "Ferry/0.1";  // sent unless the request has its own User-Agent header
  bool verify_tls = true;
  std::string ca_file;               // empty: the system's CA bundle
  int max_connections_per_host = 0;  // 0: unlimited
  int max_total_connections = 0;     // 0: unlimited
};

// The Transport error name for a curl result ("timeout", "tls", ...), without
// the refused_target case, which only the transfer itself can tell.
std::string_view curl_error_name(CURLcode code);

// A Transport on one libcurl multi handle driven by one worker thread.
//
// One multi handle means one connection cache and one DNS cache for all
// deliveries, so consecutive requests to a host reuse a keep-alive (or HTTP/2)
// connection. Every connection's address passes through TargetPolicy just
// before its socket is created, which covers names resolving to refused
// addresses and DNS rebinding; a reused connection was judged when it opened.
//
// The worker waits on an epoll set of the sockets curl needs
// (curl_multi_socket_action), so only transfers with something to do run:
// connections held open by slow or hanging receivers cost nothing per delivery.
//
// Callbacks run on the worker thread: they must be quick and must not call
// shutdown() or destroy the transport. They may call send().
class CurlTransport final : public Transport {
 public:
  using Config = CurlTransportConfig;

  // Bytes of response body read and dropped past max_response_body before the
  // transfer is cut off: enough to drain a normal response (so the connection
  // stays reusable), bounded so a peer cannot stream forever.
  static constexpr std::size_t kMaxDiscardedBody = std::size_t{16} << 20;
  // Bytes of response headers kept; further header lines are dropped.
  static constexpr std::size_t kMaxKeptHeaderBytes = std::size_t{64} << 10;

  explicit CurlTransport(Config config);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  // After shutdown, `on_done` runs at once on the caller's thread with error
  // "other" ("shutdown"): there is no transport thread left to run it.
  void send(OutgoingRequest request, Callback on_done) override;
  void shutdown(std::chrono::milliseconds grace) override;

 private:
  struct EasyDeleter {
    void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
  };
  using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
  // Easy handles kept for the next transfers: making one (and its caches)
  // afresh per request was a sixth of this thread's time at full speed.
  static constexpr std::size_t kIdleHandlesKept = 256;

  struct Pending {
    OutgoingRequest request;
    Callback on_done;
  };
  struct Transfer;
  // What the worker takes from the submitting side in one turn.
  struct Intake {
    std::vector<Pending> pending;
    bool stopping = false;
    std::chrono::steady_clock::time_point deadline;
  };

  // curl's socket callback (userp: the transport).
  static int watch_socket(CURL* easy, curl_socket_t socket, int what, void* userp, void* socketp);
  void run();
  Intake take_intake();
  void start(Pending pending);
  void finish_completed();
  void finish(CURL* easy, CURLcode code);
  void abort_all_active();
  void retire(std::unique_ptr<Transfer> transfer, TransportResponse response);
  void keep_for_reuse(EasyHandle easy);
  void configure_multi();
  void wake();
  void close_descriptors();

  const Config config_;
  CURLM* multi_ = nullptr;
  int epoll_fd_ = -1;  // the sockets curl waits on, and wake_fd_
  int wake_fd_ = -1;   // an eventfd: written to wake the worker

  // Submitting side, shared with the worker.
  std::mutex mutex_;
  std::vector<Pending> queue_;
  bool accepting_ = true;
  std::chrono::steady_clock::time_point stop_deadline_;

  // Worker side only.
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active_;
  std::vector<EasyHandle> idle_handles_;

  std::mutex join_mutex_;  // serialises concurrent shutdown() calls around join()
  std::thread worker_;
};

}  // namespace ferry
