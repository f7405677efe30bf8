#include "delivery/curl_transport.hpp"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace ferry {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Worker wake-up interval when nothing is due; submissions and shutdown wake
// it at once through its eventfd, so this only bounds idle polling.
constexpr int kIdlePollMs = 1000;

long idle_connections_kept() {
  constexpr long kFewest = 64;
  constexpr long kMost = 1024;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return kMost;
  return std::clamp(static_cast<long>(limit.rlim_cur / 4), kFewest, kMost);
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using HeaderSlist = std::unique_ptr<curl_slist, SlistDeleter>;

// Sets options through one typed door and remembers the first failure, so a
// request never goes out with a safety option (no redirects, no proxy, the
// socket check) silently missing.
class OptionSetter {
 public:
  explicit OptionSetter(CURL* easy) : easy_(easy) {}

  template <class T>
  void operator()(CURLoption option, T value) {
    static_assert(std::is_same_v<T, long> || std::is_same_v<T, curl_off_t> || std::is_pointer_v<T>,
                  "curl options take long, curl_off_t or pointers");
    if (failed_ != CURLE_OK) return;
    failed_ = curl_easy_setopt(easy_, option, value);
    if (failed_ != CURLE_OK) failed_option_ = option;
  }

  std::optional<std::string> failure() const {
    if (failed_ == CURLE_OK) return std::nullopt;
    return "curl option " + std::to_string(failed_option_) + ": " + curl_easy_strerror(failed_);
  }

 private:
  CURL* easy_;
  CURLcode failed_ = CURLE_OK;
  int failed_option_ = 0;
};

long to_curl_ms(std::chrono::milliseconds timeout) {
  // curl reads 0 as "no timeout"; a request always has one.
  return std::max<long>(1, static_cast<long>(timeout.count()));
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::string lowercase(std::string_view text) {
  std::string lowered(text);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lowered;
}

bool is_token_char(unsigned char c) {
  return std::isalnum(c) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// Header names must be RFC 9110 tokens and values must not break the line,
// or one header could smuggle others into the request.
bool is_valid_header(std::string_view name, std::string_view value) {
  const bool name_ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return is_token_char(static_cast<unsigned char>(c));
  });
  return name_ok && value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool is_https(std::string_view url) { return lowercase(url.substr(0, 8)) == "https://"; }

bool has_header(const HeaderList& headers, std::string_view lowered_name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& header) { return lowercase(header.first) == lowered_name; });
}

TransportResponse failure(std::string error, std::string detail) {
  TransportResponse response;
  response.error = std::move(error);
  response.error_detail = std::move(detail);
  return response;
}

// A throwing callback must not take the worker thread (and every other
// delivery) down with it.
void deliver(Transport::Callback& on_done, TransportResponse response) {
  try {
    on_done(std::move(response));
  } catch (const std::exception& e) {
    spdlog::error("transport: delivery callback threw: {}", e.what());
  } catch (...) {
    spdlog::error("transport: delivery callback threw a non-standard exception");
  }
}

}  // namespace

std::string_view curl_error_name(CURLcode code) {
  switch (code) {
    case CURLE_OK: return "";
    case CURLE_OPERATION_TIMEDOUT: return "timeout";
    case CURLE_COULDNT_CONNECT: return "refused";
    case CURLE_COULDNT_RESOLVE_HOST: return "dns";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED: return "tls";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return "connection";
    default: return "other";
  }
}

// One request in curl's hands: the request (whose body curl reads in place),
// the easy handle, and what has come back so far. Lives on the heap at a
// fixed address because curl keeps pointers to it.
struct CurlTransport::Transfer {
  Transfer(Pending pending, const TargetPolicy& target_policy)
      : request(std::move(pending.request)), on_done(std::move(pending.on_done)), policy(target_policy) {}

  // `handle`: a reset easy handle to reuse, or null for a new one.
  std::optional<std::string> configure(const Config& config, EasyHandle handle);
  // What to report for curl's result `code`; takes the response gathered so far.
  TransportResponse outcome(CURLcode code);

  OutgoingRequest request;
  Callback on_done;
  const TargetPolicy& policy;
  HeaderSlist header_list;
  EasyHandle easy;
  SteadyClock::time_point started;

  TransportResponse response;
  std::size_t kept_header_bytes = 0;
  std::size_t discarded_body_bytes = 0;
  bool body_cut_off = false;           // we stopped reading a body past kMaxDiscardedBody
  bool in_header_block = false;        // a status line came, the blank line ending its headers not yet
  std::optional<std::string> refusal;  // why TargetPolicy refused an address
  int sockets_opened = 0;
  char error_buffer[CURL_ERROR_SIZE] = {};

 private:
  std::optional<std::string> build_header_list();
  void take_header_line(std::string_view line);
  std::int64_t elapsed_us() const;

  static curl_socket_t open_socket(void* user, curlsocktype purpose, curl_sockaddr* address);
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user);
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user);
};

std::optional<std::string> CurlTransport::Transfer::build_header_list() {
  std::vector<std::string> lines;
  for (const auto& [name, value] : request.headers) {
    if (!is_valid_header(name, value)) return "header \"" + name + "\" has a character not allowed in a header";
    // "Name;" is curl's spelling of a header with an empty value ("Name:" would remove it).
    lines.push_back(value.empty() ? name + ";" : name + ": " + value);
  }
  // curl would add these on its own: Expect makes many receivers stall for a
  // second, and a form Content-Type would misdescribe the body.
  if (!has_header(request.headers, "expect")) lines.emplace_back("Expect:");
  if (!has_header(request.headers, "content-type")) lines.emplace_back("Content-Type:");
  for (const auto& line : lines) {
    curl_slist* grown = curl_slist_append(header_list.get(), line.c_str());
    if (grown == nullptr) return "out of memory building headers";  // the list is left intact
    static_cast<void>(header_list.release());  // grown is the same list, or a new one if it was empty
    header_list.reset(grown);
  }
  return std::nullopt;
}

std::optional<std::string> CurlTransport::Transfer::configure(const Config& config, EasyHandle handle) {
  easy = handle ? std::move(handle) : EasyHandle(curl_easy_init());
  if (!easy) return "curl_easy_init failed";
  if (auto problem = build_header_list()) return problem;

  OptionSetter set(easy.get());
  set(CURLOPT_URL, request.url.c_str());
  set(CURLOPT_POST, 1L);
  set(CURLOPT_POSTFIELDS, request.body.data());
  set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  set(CURLOPT_HTTPHEADER, header_list.get());
  set(CURLOPT_USERAGENT, config.user_agent.c_str());
  // Where the request goes: the URL's host, by http(s) only, never elsewhere.
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_PROXY, "");
  set(CURLOPT_NOPROXY, "*");
  set(CURLOPT_OPENSOCKETFUNCTION, static_cast<curl_opensocket_callback>(&Transfer::open_socket));
  set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(this));
  // Timeouts and threads: no SIGALRM from a worker thread.
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_CONNECTTIMEOUT_MS, to_curl_ms(request.connect_timeout));
  set(CURLOPT_TIMEOUT_MS, to_curl_ms(request.total_timeout));
  // HTTP/2 where TLS offers it. Over https, wait for a connection being set
  // up to the host rather than opening a parallel one: ALPN tells at the
  // handshake whether it can multiplex. Never over http: curl would learn
  // "no" only from the first response, so one hanging receiver would hold
  // every other request to its host.
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  set(CURLOPT_PIPEWAIT, is_https(request.url) ? 1L : 0L);
  set(CURLOPT_SSL_VERIFYPEER, config.verify_tls ? 1L : 0L);
  set(CURLOPT_SSL_VERIFYHOST, config.verify_tls ? 2L : 0L);
  if (!config.ca_file.empty()) set(CURLOPT_CAINFO, config.ca_file.c_str());
  set(CURLOPT_HEADERFUNCTION, static_cast<curl_write_callback>(&Transfer::on_header));
  set(CURLOPT_HEADERDATA, static_cast<void*>(this));
  set(CURLOPT_WRITEFUNCTION, static_cast<curl_write_callback>(&Transfer::on_body));
  set(CURLOPT_WRITEDATA, static_cast<void*>(this));
  set(CURLOPT_ERRORBUFFER, static_cast<char*>(error_buffer));
  return set.failure();
}

// The SSRF guard: runs for every address curl is about to connect to, after
// DNS, so neither a name pointing inward nor a rebinding answer gets through.
curl_socket_t CurlTransport::Transfer::open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto& transfer = *static_cast<Transfer*>(user);
  std::optional<std::string> reason;
  if (purpose != CURLSOCKTYPE_IPCXN) {
    reason = "not an outgoing connection";
  } else {
    reason = transfer.policy.refusal_reason(&address->addr);
  }
  if (reason) {
    if (!transfer.refusal) transfer.refusal = std::move(reason);
    return CURL_SOCKET_BAD;  // curl tries the host's next address, if any
  }
  ++transfer.sockets_opened;
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

std::size_t CurlTransport::Transfer::on_header(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<Transfer*>(user)->take_header_line(std::string_view(data, size * count));
  return size * count;
}

void CurlTransport::Transfer::take_header_line(std::string_view line) {
  auto& headers = response.headers;
  // Each status line opens a new header block (after 100 Continue, say):
  // only the final response's headers are kept.
  if (line.starts_with("HTTP/")) {
    headers.clear();
    kept_header_bytes = 0;
    in_header_block = true;
    return;
  }
  if (trim(line).empty()) {
    in_header_block = false;
    return;
  }
  if (kept_header_bytes + line.size() > kMaxKeptHeaderBytes) return;
  kept_header_bytes += line.size();
  if ((line.front() == ' ' || line.front() == '\t') && !headers.empty()) {  // obsolete line folding
    headers.back().second += ' ';
    headers.back().second += trim(line);
    return;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return;
  headers.emplace_back(lowercase(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
}

std::size_t CurlTransport::Transfer::on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const std::size_t length = size * count;
  std::string& body = transfer.response.body;
  const std::size_t room =
      transfer.request.max_response_body - std::min(body.size(), transfer.request.max_response_body);
  const std::size_t kept = std::min(length, room);
  body.append(data, kept);
  // Reading on past the kept part lets the connection be reused, up to a point.
  transfer.discarded_body_bytes += length - kept;
  if (transfer.discarded_body_bytes > kMaxDiscardedBody) {
    transfer.body_cut_off = true;
    return 0;  // curl stops the transfer with CURLE_WRITE_ERROR
  }
  return length;
}

std::int64_t CurlTransport::Transfer::elapsed_us() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started).count();
}

TransportResponse CurlTransport::Transfer::outcome(CURLcode code) {
  // A body we cut off still came with a complete status and headers: the
  // receiver answered, which is what a delivery needs to know.
  if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && body_cut_off)) {
    TransportResponse answered = std::move(response);
    long status = 0;
    curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
    answered.status = static_cast<int>(status);
    answered.latency_us = elapsed_us();
    return answered;
  }
  std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  TransportResponse failed;
  if (refusal && sockets_opened == 0) {
    // No socket opened and an address refused: the policy is why nothing was sent.
    failed = failure("refused_target", *refusal);
  } else if (long sent = 0; code == CURLE_UNSUPPORTED_PROTOCOL &&
                            curl_easy_getinfo(easy.get(), CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent > 0) {
    // The request went out (a scheme curl may not speak never gets that
    // far), so it is the answer: bytes without a status line, which curl
    // calls HTTP/0.9 and refuses.
    failed = failure("connection", "the response is not HTTP: " + detail);
  } else if (code == CURLE_OUT_OF_MEMORY && in_header_block) {
    // curl reports a response header line over its limit (100 KB) so.
    failed = failure("connection", "a response header line is longer than curl accepts: " + detail);
  } else {
    failed = failure(std::string(curl_error_name(code)), std::move(detail));
  }
  failed.latency_us = elapsed_us();
  return failed;
}

CurlTransport::CurlTransport(Config config) : config_(std::move(config)) {
  init_curl_once();
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.fd = wake_fd_;
  if (epoll_fd_ < 0 || wake_fd_ < 0 || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake_event) != 0) {
    const int error = errno;
    close_descriptors();
    throw std::system_error(error, std::generic_category(), "transport: epoll/eventfd");
  }
  multi_ = curl_multi_init();
  if (multi_ == nullptr) {
    close_descriptors();
    throw std::bad_alloc();
  }
  configure_multi();
  try {
    worker_ = std::thread([this] { run(); });
  } catch (...) {
    curl_multi_cleanup(multi_);
    close_descriptors();
    throw;
  }
}

CurlTransport::~CurlTransport() {
  shutdown(std::chrono::milliseconds{0});
  idle_handles_.clear();
  curl_multi_cleanup(multi_);  // may still tell watch_socket to forget sockets
  close_descriptors();
}

void CurlTransport::close_descriptors() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  wake_fd_ = epoll_fd_ = -1;
}

void CurlTransport::wake() {
  const std::uint64_t one = 1;
  // Fails only when the counter is already huge: the worker is being woken anyway.
  [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
}

// curl's socket callback: keeps the epoll set (userp: the transport) in step with the sockets curl waits on and what for. Only
// sockets with something to do wake the worker, and only their transfers are
// run: curl_multi_perform would run every transfer at each wake-up, so each
// delivery's cost grew with the connections held open by slow or hanging
// receivers. A socket in the set carries a mark (curl_multi_assign), so each
// change is one epoll_ctl, not a failed MOD before every ADD.
int CurlTransport::watch_socket(CURL* /*easy*/, curl_socket_t socket, int what, void* userp, void* socketp) {
  auto& transport = *static_cast<CurlTransport*>(userp);
  if (what == CURL_POLL_REMOVE) {
    // curl forgets the mark itself; the DEL fails harmlessly if the socket is closed already.
    ::epoll_ctl(transport.epoll_fd_, EPOLL_CTL_DEL, socket, nullptr);
    return 0;
  }
  epoll_event event{};
  event.events = ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
  event.data.fd = socket;
  if (socketp != nullptr) {
    if (::epoll_ctl(transport.epoll_fd_, EPOLL_CTL_MOD, socket, &event) == 0 || errno != ENOENT) return 0;
  }
  ::epoll_ctl(transport.epoll_fd_, EPOLL_CTL_ADD, socket, &event);
  curl_multi_assign(transport.multi_, socket, userp);
  return 0;
}

void CurlTransport::configure_multi() {
  // One multi handle, so one connection cache: requests to a host share
  // connections, multiplexed over HTTP/2 where the server offers it.
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &watch_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, static_cast<void*>(this));
  // Idle keep-alive connections kept for reuse. curl's default is four per
  // transfer running at the moment, so each lull in the deliveries closed
  // connections the next burst had to open again (a TCP handshake, a target
  // check and a slow start each). A quarter of the descriptors the process
  // may open, so idle connections never starve the rest of it.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, idle_connections_kept());
  if (config_.max_connections_per_host > 0) {
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(config_.max_connections_per_host));
  }
  if (config_.max_total_connections > 0) {
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(config_.max_total_connections));
  }
}

void CurlTransport::send(OutgoingRequest request, Callback on_done) {
  {
    std::lock_guard lock(mutex_);
    if (accepting_) {
      // The worker takes the whole queue at once: a wake-up is owed only by
      // the first request into an empty queue; the rest ride along with it.
      const bool first = queue_.empty();
      queue_.push_back(Pending{std::move(request), std::move(on_done)});
      if (first) wake();
      return;
    }
  }
  deliver(on_done, failure("other", "shutdown"));
}

void CurlTransport::shutdown(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mutex_);
    if (accepting_) {
      accepting_ = false;
      stop_deadline_ = SteadyClock::now() + grace;
    }
    wake();
  }
  std::lock_guard lock(join_mutex_);
  if (worker_.joinable()) worker_.join();
}

CurlTransport::Intake CurlTransport::take_intake() {
  std::lock_guard lock(mutex_);
  Intake intake;
  intake.pending.swap(queue_);
  intake.stopping = !accepting_;
  intake.deadline = stop_deadline_;
  return intake;
}

void CurlTransport::run() {
  for (;;) {
    // Once stopping, the queue is taken for the last time here: send() no
    // longer adds to it.
    Intake intake = take_intake();
    const bool out_of_time = intake.stopping && SteadyClock::now() >= intake.deadline;
    for (auto& pending : intake.pending) {
      if (out_of_time) {
        deliver(pending.on_done, failure("other", "shutdown"));
      } else {
        start(std::move(pending));
      }
    }
    if (out_of_time) break;

    // Transfers whose time has come: new ones, and timeouts of every kind.
    int running = 0;
    long timeout_ms = -1;
    curl_multi_timeout(multi_, &timeout_ms);
    if (timeout_ms == 0) {
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      curl_multi_timeout(multi_, &timeout_ms);
    }
    finish_completed();
    if (intake.stopping && active_.empty()) break;

    int wait_ms = timeout_ms < 0 ? kIdlePollMs : static_cast<int>(std::min<long>(timeout_ms, kIdlePollMs));
    if (intake.stopping) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(intake.deadline - SteadyClock::now());
      wait_ms =
          std::min(wait_ms, static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, kIdlePollMs)));
    }
    std::array<epoll_event, 64> events{};
    const int ready = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_ms);
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        std::uint64_t count = 0;
        [[maybe_unused]] const auto got = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      const std::uint32_t what = events[i].events;
      const int flags = ((what & EPOLLIN) != 0 ? CURL_CSELECT_IN : 0) |
                        ((what & EPOLLOUT) != 0 ? CURL_CSELECT_OUT : 0) |
                        ((what & (EPOLLERR | EPOLLHUP)) != 0 ? CURL_CSELECT_ERR : 0);
      curl_multi_socket_action(multi_, fd, flags, &running);
    }
    finish_completed();
  }
  abort_all_active();
}

void CurlTransport::start(Pending pending) {
  auto transfer = std::make_unique<Transfer>(std::move(pending), config_.policy);
  EasyHandle reused;
  if (!idle_handles_.empty()) {
    reused = std::move(idle_handles_.back());
    idle_handles_.pop_back();
  }
  std::optional<std::string> problem = transfer->configure(config_, std::move(reused));
  if (!problem) {
    transfer->started = SteadyClock::now();
    const CURLMcode added = curl_multi_add_handle(multi_, transfer->easy.get());
    if (added == CURLM_OK) {
      CURL* easy = transfer->easy.get();
      active_.emplace(easy, std::move(transfer));
      return;
    }
    problem = std::string("curl_multi_add_handle: ") + curl_multi_strerror(added);
  }
  Callback on_done = std::move(transfer->on_done);
  keep_for_reuse(std::move(transfer->easy));
  deliver(on_done, failure("other", std::move(*problem)));
}

void CurlTransport::keep_for_reuse(EasyHandle easy) {
  if (!easy || idle_handles_.size() >= kIdleHandlesKept) return;
  // Back to defaults, options and their pointers into the finished transfer
  // included; connections stay in the multi handle's cache either way.
  curl_easy_reset(easy.get());
  idle_handles_.push_back(std::move(easy));
}

void CurlTransport::finish_completed() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg == CURLMSG_DONE) finish(message->easy_handle, message->data.result);
  }
}

void CurlTransport::finish(CURL* easy, CURLcode code) {
  auto node = active_.extract(easy);
  if (node.empty()) return;
  TransportResponse response = node.mapped()->outcome(code);
  retire(std::move(node.mapped()), std::move(response));
}

void CurlTransport::abort_all_active() {
  auto transfers = std::move(active_);
  active_.clear();
  for (auto& entry : transfers) retire(std::move(entry.second), failure("other", "shutdown"));
}

void CurlTransport::retire(std::unique_ptr<Transfer> transfer, TransportResponse response) {
  curl_multi_remove_handle(multi_, transfer->easy.get());
  Callback on_done = std::move(transfer->on_done);
  keep_for_reuse(std::move(transfer->easy));
  transfer.reset();  // free the transfer before the callback, which may send more
  deliver(on_done, std::move(response));
}

}  // namespace ferry
