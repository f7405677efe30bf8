#include "api/http_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "api/http_request_reading.hpp"
#include "core/envelope.hpp"

namespace ferry {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using beast::error_code;

// The first read of a request: one syscall usually brings the whole request,
// which http::async_read then parses without reading again.
constexpr std::size_t kFirstReadBytes = 4096;
// After an error response the client may still be sending the request we gave
// up on; closing with unread bytes would make the kernel send RST, which can
// destroy our response before the client reads it. So we half-close and drain
// for a little while ("lingering close", as nginx does).
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::size_t kLingerMaxBytes = 1024 * 1024;
constexpr std::size_t kDrainChunkBytes = 16 * 1024;
// An idle keep-alive connection should not pin a large buffer left over from
// a big request.
constexpr std::size_t kKeepBufferBytes = 64 * 1024;
// accept() failing for a reason other than closing (EMFILE, ENOBUFS) would
// fail again at once: back off instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// After everything is closed the io threads normally finish at once; this is
// the bound before we stop the io_context outright.
constexpr std::chrono::seconds kThreadExitWait{2};
constexpr std::chrono::seconds kOverloadLogInterval{10};

constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

std::string error_body(std::string_view code, std::string_view message) {
  std::string body = R"({"error":{"code":)";
  append_json_string(body, code);
  body += R"(,"message":)";
  append_json_string(body, message);
  body += "}}";
  return body;
}

HttpResponse internal_error_response(std::string_view message) {
  HttpResponse response;
  response.status = 500;
  response.body = error_body("internal", message);
  return response;
}

// RFC 9110 token characters: anything else in a field name would corrupt the
// response framing.
bool is_token(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// CR or LF in a value would let it inject headers or a second response.
bool is_safe_value(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string format_endpoint(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const auto port = std::to_string(endpoint.port());
  if (address.is_v6()) return "[" + address.to_string() + "]:" + port;
  return address.to_string() + ":" + port;
}

// Errors that are part of normal life (peers leave, timers fire, we close).
bool is_routine(const error_code& ec) {
  return ec == net::error::operation_aborted || ec == beast::error::timeout || ec == net::error::eof ||
         ec == http::error::end_of_stream || ec == http::error::partial_message || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == net::error::not_connected || ec == net::error::bad_descriptor;
}

bool is_http_error(const error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_method).category();
}

// Turns the handler's answer into the wire response. Framing headers are ours:
// the handler's Content-Length / Transfer-Encoding are ignored, and its
// `Connection: close` only closes.
http::response<http::string_body> build_response(HttpResponse&& in, unsigned version, bool head_request,
                                                 const std::string& server_header, bool keep_alive) {
  if (in.status < 200 || in.status > 599) {
    spdlog::error("http: handler answered invalid status {}; sending 500", in.status);
    in = internal_error_response("the request handler produced an invalid response");
  }
  http::response<http::string_body> res;
  res.version(version);
  res.result(static_cast<unsigned>(in.status));
  if (!server_header.empty()) res.set(http::field::server, server_header);
  const bool bodiless = in.status == 204 || in.status == 304;
  if (!bodiless && !in.content_type.empty()) res.set(http::field::content_type, in.content_type);
  bool close_requested = false;
  for (auto& [name, value] : in.headers) {
    if (!is_token(name) || !is_safe_value(value)) {
      spdlog::error("http: handler produced an invalid header '{}'; dropped", name);
      continue;
    }
    if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding")) continue;
    if (beast::iequals(name, "connection")) {
      if (beast::iequals(value, "close")) close_requested = true;
      continue;
    }
    // Replace rather than duplicate the ones we set ourselves.
    if (beast::iequals(name, "content-type") || beast::iequals(name, "server")) {
      res.set(name, value);
    } else {
      res.insert(name, value);
    }
  }
  if (bodiless) {
    // RFC 9110: no body and no Content-Length for 204; 304 describes a body not sent.
  } else if (head_request) {
    // HEAD: the length of what GET would send, and no body.
    res.content_length(in.body.size());
  } else {
    res.content_length(in.body.size());
    res.body() = std::move(in.body);
  }
  res.keep_alive(keep_alive && !close_requested);
  return res;
}

// Lets handler threads post responses only while the io_context exists: once
// shutdown closes it, late responses are dropped instead of touching freed
// sockets.
struct ResponseGate {
  std::mutex mutex;
  bool open = true;
};

}  // namespace

// ---------------------------------------------------------------------------

class HttpServer::Impl {
 public:
  class Session;
  class ResponseSlot;

  Impl(Config config, HttpHandler& handler);
  ~Impl();

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Status listen();
  void run();
  void stop_accepting();
  void shutdown(std::chrono::milliseconds grace);

  std::uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }

  // For sessions.
  const Config& config() const { return config_; }
  HttpHandler& handler() { return handler_; }
  const std::shared_ptr<ResponseGate>& gate() const { return gate_; }
  bool draining() const { return draining_.load(); }
  void on_session_closed(std::uint64_t id);

 private:
  bool on_io_thread() { return ioc_.get_executor().running_in_this_thread(); }
  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);
  void start_session(tcp::socket socket);
  void reject_over_capacity(tcp::socket& socket);
  void run_io_thread();
  template <class F>
  void for_each_session(F f);

  const Config config_;
  HttpHandler& handler_;
  std::shared_ptr<ResponseGate> gate_ = std::make_shared<ResponseGate>();
  std::string overload_response_;

  // Declared before everything that uses it, so it is destroyed last.
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  net::strand<net::io_context::executor_type> accept_strand_;
  std::optional<tcp::acceptor> acceptor_;                // used on accept_strand_ only
  std::optional<net::steady_timer> accept_retry_timer_;  // same
  std::uint64_t next_session_id_ = 1;                    // same
  std::atomic<std::chrono::steady_clock::rep> last_overload_log_{0};

  std::uint16_t port_ = 0;
  std::string address_;

  std::mutex sessions_mutex_;
  std::condition_variable sessions_cv_;
  // The registry owns live sessions: a session waiting for its handler has no
  // pending I/O to keep it alive, and shutdown must be able to reach them all.
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> sessions_;

  std::atomic<bool> draining_{false};

  std::mutex accept_mutex_;  // guards accepting_
  bool accepting_ = false;

  std::mutex lifecycle_mutex_;  // serialises shutdown
  bool shut_down_ = false;

  std::mutex threads_mutex_;
  std::condition_variable threads_cv_;
  int threads_running_ = 0;
  std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------

// What the handler's `respond` holds. It keeps the session only weakly (the
// connection may be gone by the time the handler answers) and answers 500 if
// the handler drops `respond` without calling it, so a connection never hangs
// on a forgotten request.
class HttpServer::Impl::ResponseSlot {
 public:
  ResponseSlot(std::shared_ptr<ResponseGate> gate, std::weak_ptr<Session> session)
      : gate_(std::move(gate)), session_(std::move(session)) {}

  ResponseSlot(const ResponseSlot&) = delete;
  ResponseSlot& operator=(const ResponseSlot&) = delete;

  ~ResponseSlot() {
    if (answered_.exchange(true)) return;
    try {
      deliver(internal_error_response("the request handler did not respond"));
    } catch (...) {  // a destructor must not throw; the connection then closes at shutdown or timeout
    }
  }

  void answer(HttpResponse response) {
    if (answered_.exchange(true)) {
      spdlog::error("http: a request was answered twice; the second answer is dropped");
      return;
    }
    deliver(std::move(response));
  }

 private:
  void deliver(HttpResponse response);

  std::shared_ptr<ResponseGate> gate_;
  std::weak_ptr<Session> session_;
  std::atomic<bool> answered_{false};
};

// ---------------------------------------------------------------------------

// One connection. Every member is touched only on the session's strand; the
// only entry points from other threads are the post_* methods.
class HttpServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Impl& server, std::uint64_t id)
      : server_(server), id_(id), stream_(std::move(socket)), executor_(stream_.get_executor()) {
    error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = remote.address().to_string();
  }

  void start() { net::dispatch(executor_, beast::bind_front_handler(&Session::do_read, shared_from_this())); }

  // Any thread: closes the connection if it is between requests; otherwise
  // the exchange in progress finishes and the connection closes after it.
  void post_begin_shutdown() {
    net::post(executor_, [self = shared_from_this()] {
      if (self->state_ == State::idle) self->close();
    });
  }

  // Any thread: closes now, whatever is in progress.
  void post_close() {
    net::post(executor_, [self = shared_from_this()] { self->close(); });
  }

  // Any thread: the handler's answer for the request in flight.
  void post_response(HttpResponse response) {
    net::post(executor_, [self = shared_from_this(), response = std::move(response)]() mutable {
      self->on_response(std::move(response));
    });
  }

 private:
  enum class State { idle, reading, handling, writing, closing, closed };

  void do_read() {
    if (state_ == State::closed) return;
    if (server_.draining()) return close();
    state_ = State::idle;
    parser_.emplace();
    apply_request_limits(*parser_, server_.config());
    // A pipelined request already buffered is "in progress" from the start.
    if (buffer_.size() > 0) return read_request();
    if (buffer_.capacity() > kKeepBufferBytes) buffer_.shrink_to_fit();
    // Wait for the first byte under the idle timeout; the read timeout starts
    // only once the client has begun a request.
    stream_.expires_after(server_.config().idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
  }

  void on_first_bytes(error_code ec, std::size_t bytes) {
    if (state_ == State::closed) return;
    if (ec) return fail(ec, "wait for request");
    buffer_.commit(bytes);
    read_request();
  }

  void read_request() {
    state_ = State::reading;
    // One deadline for the rest of the request (header, optional 100
    // Continue, body): a client trickling bytes cannot hold the connection.
    stream_.expires_after(server_.config().read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(error_code ec, std::size_t /*bytes*/) {
    if (state_ == State::closed) return;
    if (ec) return on_read_error(ec);
    const auto& req = parser_->get();
    if (has_too_many_header_fields(*parser_)) {
      return send_error(http::status::request_header_fields_too_large, kHeadersTooLargeCode,
                        "a request may have at most " + std::to_string(kMaxHeaderFields) + " header fields");
    }
    if (parser_->is_done()) return handle_request();
    // Clients such as curl wait (about a second) for this before sending a
    // large body; an oversized one never got here (body_limit failed above).
    if (req.version() >= 11 && beast::iequals(req[http::field::expect], "100-continue")) {
      net::async_write(stream_, net::buffer(kContinueResponse.data(), kContinueResponse.size()),
                       beast::bind_front_handler(&Session::on_continue_sent, shared_from_this()));
      return;
    }
    read_body();
  }

  void on_continue_sent(error_code ec, std::size_t /*bytes*/) {
    if (state_ == State::closed) return;
    if (ec) return fail(ec, "write 100 Continue");
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  void on_body(error_code ec, std::size_t /*bytes*/) {
    if (state_ == State::closed) return;
    if (ec) return on_read_error(ec);
    handle_request();
  }

  void on_read_error(error_code ec) {
    const auto& config = server_.config();
    if (ec == http::error::body_limit) {
      return send_error(http::status::payload_too_large, "payload_too_large",
                        "request body exceeds the limit of " + std::to_string(config.max_body_bytes) + " bytes");
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      return send_error(http::status::request_header_fields_too_large, kHeadersTooLargeCode,
                        "request headers exceed the limit of " + std::to_string(config.max_header_bytes) + " bytes");
    }
    // A request cut off by the peer or a timeout gets no answer: nobody is
    // listening for one, or the client is too slow to deserve it.
    if (is_http_error(ec) && ec != http::error::partial_message && ec != http::error::end_of_stream) {
      return send_error(http::status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
    }
    fail(ec, "read request");
  }

  void handle_request() {
    // The handler may take as long as it likes (a group commit, say); it owns
    // that timeout, not us.
    stream_.expires_never();
    state_ = State::handling;

    const auto& req = parser_->get();
    request_version_ = req.version();
    request_keep_alive_ = req.keep_alive();
    request_head_ = req.method() == http::verb::head;
    HttpRequest request = to_http_request(*parser_, remote_address_);
    parser_.reset();  // the body now lives in `request`; don't hold it twice

    auto slot = std::make_shared<ResponseSlot>(server_.gate(), weak_from_this());
    HttpRespond respond = [slot](HttpResponse response) { slot->answer(std::move(response)); };
    try {
      server_.handler().handle(std::move(request), std::move(respond));
    } catch (const std::exception& e) {
      // If the handler also dropped `respond`, the slot answers 500.
      spdlog::error("http: handler threw for {}: {}", remote_address_, e.what());
    } catch (...) {
      spdlog::error("http: handler threw a non-exception for {}", remote_address_);
    }
  }

  void on_response(HttpResponse response) {
    if (state_ != State::handling) return;  // closed (shutdown) while the handler worked
    const bool keep_alive = request_keep_alive_ && !server_.draining();
    std::optional<http::response<http::string_body>> res;
    try {
      res.emplace(build_response(std::move(response), request_version_, request_head_, server_.config().server_header,
                                 keep_alive));
    } catch (const std::exception& e) {
      spdlog::error("http: cannot build the response for {}: {}", remote_address_, e.what());
      res.emplace(build_response(internal_error_response("the response could not be built"), request_version_,
                                 request_head_, server_.config().server_header, false));
    }
    send(std::move(*res), /*unread_request=*/false);
  }

  void send_error(http::status status, std::string_view code, const std::string& message) {
    http::response<http::string_body> res{status, 11};
    if (!server_.config().server_header.empty()) res.set(http::field::server, server_.config().server_header);
    res.set(http::field::content_type, "application/json");
    res.body() = error_body(code, message);
    res.content_length(res.body().size());
    res.keep_alive(false);
    send(std::move(res), /*unread_request=*/true);
  }

  void send(http::response<http::string_body>&& res, bool unread_request) {
    state_ = State::writing;
    response_.emplace(std::move(res));
    response_keep_alive_ = response_->keep_alive();
    unread_request_ = unread_request;
    stream_.expires_after(server_.config().idle_timeout);
    http::async_write(stream_, *response_, beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(error_code ec, std::size_t /*bytes*/) {
    if (state_ == State::closed) return;
    response_.reset();
    if (ec) return fail(ec, "write response");
    if (!response_keep_alive_) return close_after_response();
    do_read();
  }

  void close_after_response() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);  // FIN right after the response
    if (ec) return close();
    const auto unread_bytes = stream_.socket().available(ec);
    if (ec || (!unread_request_ && unread_bytes == 0)) return close();
    state_ = State::closing;
    drained_bytes_ = 0;
    buffer_.clear();
    stream_.expires_after(std::min<std::chrono::seconds>(kLingerTimeout, server_.config().read_timeout));
    drain();
  }

  void drain() {
    stream_.async_read_some(buffer_.prepare(kDrainChunkBytes),
                            beast::bind_front_handler(&Session::on_drain, shared_from_this()));
  }

  void on_drain(error_code ec, std::size_t bytes) {
    if (state_ == State::closed) return;
    drained_bytes_ += bytes;
    if (ec || drained_bytes_ > kLingerMaxBytes) return close();  // EOF is the normal end
    drain();
  }

  void fail(error_code ec, std::string_view what) {
    if (state_ == State::closed) return;
    if (is_routine(ec)) {
      spdlog::debug("http: {} {}: {}", remote_address_, what, ec.message());
    } else {
      spdlog::warn("http: {} {}: {}", remote_address_, what, ec.message());
    }
    close();
  }

  void close() {
    if (state_ == State::closed) return;
    state_ = State::closed;
    // Cancels pending operations and the timer. The parser, buffer and
    // response must outlive those operations (they complete later, with
    // operation_aborted), so they go with the session, not here.
    stream_.close();
    server_.on_session_closed(id_);
  }

  Impl& server_;
  const std::uint64_t id_;
  beast::tcp_stream stream_;
  const beast::tcp_stream::executor_type executor_;  // the session's strand
  std::string remote_address_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  std::optional<http::response<http::string_body>> response_;
  State state_ = State::idle;
  unsigned request_version_ = 11;
  bool request_keep_alive_ = false;
  bool request_head_ = false;
  bool response_keep_alive_ = false;
  bool unread_request_ = false;
  std::size_t drained_bytes_ = 0;
};

// ---------------------------------------------------------------------------

void HttpServer::Impl::ResponseSlot::deliver(HttpResponse response) {
  // Under the gate's lock the io_context cannot be destroyed, and the session
  // reference we take is released before shutdown can proceed.
  std::lock_guard lock(gate_->mutex);
  if (!gate_->open) return;
  if (auto session = session_.lock()) session->post_response(std::move(response));
}

// ---------------------------------------------------------------------------

HttpServer::Impl::Impl(Config config, HttpHandler& handler)
    : config_(std::move(config)),
      handler_(handler),
      ioc_(config_.threads),
      work_(net::make_work_guard(ioc_)),
      accept_strand_(net::make_strand(ioc_)) {
  const std::string body = error_body("unavailable", "too many connections");
  overload_response_ = "HTTP/1.1 503 Service Unavailable\r\n" +
                       (config_.server_header.empty() ? std::string() : "Server: " + config_.server_header + "\r\n") +
                       "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n" + body;
}

HttpServer::Impl::~Impl() {
  try {
    shutdown(std::chrono::milliseconds(0));
  } catch (const std::exception& e) {
    spdlog::error("http: shutdown failed: {}", e.what());
  } catch (...) {
  }
}

Status HttpServer::Impl::listen() {
  std::string host = config_.host.empty() ? std::string("0.0.0.0") : config_.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string display =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(config_.port);

  std::vector<tcp::endpoint> candidates;
  error_code ec;
  const auto literal = net::ip::make_address(host, ec);
  if (!ec) {
    candidates.emplace_back(literal, config_.port);
  } else {
    tcp::resolver resolver(ioc_);
    const auto results = resolver.resolve(host, std::to_string(config_.port), tcp::resolver::passive, ec);
    if (ec) {
      return make_error(ErrorCode::unavailable,
                        "cannot listen on " + display + ": cannot resolve '" + host + "': " + ec.message());
    }
    for (const auto& entry : results) {
      if (std::find(candidates.begin(), candidates.end(), entry.endpoint()) == candidates.end()) {
        candidates.push_back(entry.endpoint());
      }
    }
    // Deterministic choice for names like "localhost": IPv4 first.
    std::stable_partition(candidates.begin(), candidates.end(),
                          [](const tcp::endpoint& endpoint) { return endpoint.address().is_v4(); });
  }

  std::string last_error = "no address to bind";
  for (const auto& endpoint : candidates) {
    tcp::acceptor acceptor(accept_strand_);
    const auto attempt = [&]() -> std::string_view {
      if (acceptor.open(endpoint.protocol(), ec); ec) return "open";
      // Lets a restarted server bind while old connections sit in TIME_WAIT.
      if (acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) return "set SO_REUSEADDR";
      if (acceptor.bind(endpoint, ec); ec) return "bind";
      if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) return "listen";
      return {};
    };
    if (const auto step = attempt(); !step.empty()) {
      last_error = std::string(step) + (candidates.size() > 1 ? " " + format_endpoint(endpoint) : std::string()) +
                   ": " + ec.message();
      continue;
    }
    const auto local = acceptor.local_endpoint(ec);
    if (ec) {
      last_error = "local_endpoint: " + ec.message();
      continue;
    }
    port_ = local.port();
    address_ = format_endpoint(local);
    acceptor_.emplace(std::move(acceptor));
    accept_retry_timer_.emplace(accept_strand_);
    return {};
  }
  return make_error(ErrorCode::unavailable, "cannot listen on " + display + ": " + last_error);
}

void HttpServer::Impl::run() {
  {
    std::lock_guard lock(accept_mutex_);
    accepting_ = true;
  }
  net::dispatch(accept_strand_, [this] { do_accept(); });
  threads_.reserve(static_cast<std::size_t>(config_.threads));
  for (int i = 0; i < config_.threads; ++i) {
    {
      std::lock_guard lock(threads_mutex_);
      ++threads_running_;
    }
    try {
      threads_.emplace_back([this] { run_io_thread(); });
    } catch (...) {
      std::lock_guard lock(threads_mutex_);
      --threads_running_;
      throw;
    }
  }
  spdlog::debug("http: listening on {}", address_);
}

void HttpServer::Impl::run_io_thread() {
  for (;;) {
    try {
      ioc_.run();
      break;
    } catch (const std::exception& e) {
      // A handler escaped its own try/catch; keep serving the other connections.
      spdlog::error("http: io thread: {}", e.what());
    } catch (...) {
      spdlog::error("http: io thread: unknown exception");
    }
  }
  std::lock_guard lock(threads_mutex_);
  --threads_running_;
  threads_cv_.notify_all();
}

void HttpServer::Impl::do_accept() {
  if (!acceptor_ || !acceptor_->is_open()) return;
  // Each connection gets its own strand: its handlers never run concurrently,
  // different connections run in parallel on the io threads.
  acceptor_->async_accept(net::make_strand(ioc_), beast::bind_front_handler(&Impl::on_accept, this));
}

void HttpServer::Impl::on_accept(error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
  if (ec) {
    spdlog::warn("http: accept on {}: {}", address_, ec.message());
    accept_retry_timer_->expires_after(kAcceptRetryDelay);
    accept_retry_timer_->async_wait([this](error_code wait_ec) {
      if (!wait_ec) do_accept();
    });
    return;
  }
  start_session(std::move(socket));
  do_accept();
}

void HttpServer::Impl::start_session(tcp::socket socket) {
  if (draining_) {
    error_code ignored;
    socket.close(ignored);
    return;
  }
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(sessions_mutex_);
    if (sessions_.size() < config_.max_connections) {
      const auto id = next_session_id_++;
      session = std::make_shared<Session>(std::move(socket), *this, id);
      sessions_.emplace(id, session);
    }
  }
  if (!session) return reject_over_capacity(socket);
  session->start();
}

void HttpServer::Impl::reject_over_capacity(tcp::socket& socket) {
  // Best effort and never blocking: a fresh socket's send buffer takes this
  // small response whole; if not, the client just sees the close.
  error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(net::buffer(overload_response_), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);

  // Once per interval, so a flood does not also flood the log.
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  auto last = last_overload_log_.load();
  const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(kOverloadLogInterval);
  if (now.count() - last >= interval.count() && last_overload_log_.compare_exchange_strong(last, now.count())) {
    spdlog::warn("http: {} connections open (max_connections); refusing new ones with 503", config_.max_connections);
  }
}

void HttpServer::Impl::on_session_closed(std::uint64_t id) {
  std::shared_ptr<Session> session;  // destroyed outside the lock
  std::lock_guard lock(sessions_mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  session = std::move(it->second);
  sessions_.erase(it);
  if (sessions_.empty()) sessions_cv_.notify_all();
}

template <class F>
void HttpServer::Impl::for_each_session(F f) {
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(sessions_mutex_);
    sessions.reserve(sessions_.size());
    for (const auto& entry : sessions_) sessions.push_back(entry.second);
  }
  for (const auto& session : sessions) f(*session);
}

void HttpServer::Impl::stop_accepting() {
  std::lock_guard lock(accept_mutex_);
  if (!accepting_) return;
  accepting_ = false;
  bool io_running = false;
  {
    std::lock_guard threads_lock(threads_mutex_);
    io_running = threads_running_ > 0;
  }
  if (!io_running) {  // start() failed before any io thread ran: nothing else touches the acceptor
    error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
    return;
  }
  // The acceptor belongs to its strand; close it there and wait, so that
  // "returns" means "new connects are refused".
  auto closed = std::make_shared<std::promise<void>>();
  auto closed_future = closed->get_future();
  net::post(accept_strand_, [this, closed] {
    error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
    if (accept_retry_timer_) accept_retry_timer_->cancel();
    closed->set_value();
  });
  // On an io thread waiting could deadlock (e.g. a single io thread).
  if (!on_io_thread()) closed_future.wait();
}

void HttpServer::Impl::shutdown(std::chrono::milliseconds grace) {
  if (on_io_thread()) {
    spdlog::error("http: shutdown() called from an io thread; only the listener is closed");
    stop_accepting();
    return;
  }
  std::lock_guard lifecycle(lifecycle_mutex_);
  if (shut_down_) return;
  shut_down_ = true;

  stop_accepting();
  draining_ = true;
  // Idle keep-alive connections go now; the others close after their response
  // (draining_ turns keep-alive off).
  for_each_session([](Session& session) { session.post_begin_shutdown(); });
  {
    std::unique_lock lock(sessions_mutex_);
    sessions_cv_.wait_for(lock, grace, [this] { return sessions_.empty(); });
  }

  // Grace is over: late answers from handlers are dropped from here on.
  {
    std::lock_guard lock(gate_->mutex);
    gate_->open = false;
  }
  for_each_session([](Session& session) { session.post_close(); });
  work_.reset();
  {
    std::unique_lock lock(threads_mutex_);
    if (!threads_cv_.wait_for(lock, kThreadExitWait, [this] { return threads_running_ == 0; })) {
      spdlog::warn("http: io threads still busy {} s after closing every connection; stopping them",
                   kThreadExitWait.count());
      ioc_.stop();
    }
  }
  for (auto& thread : threads_) thread.join();
  threads_.clear();

  // Nothing runs any more: drop what is left before the io_context goes.
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> leftover;
  {
    std::lock_guard lock(sessions_mutex_);
    leftover.swap(sessions_);
  }
  leftover.clear();
  accept_retry_timer_.reset();
  acceptor_.reset();
  if (!address_.empty()) spdlog::debug("http: stopped listening on {}", address_);
}

// ---------------------------------------------------------------------------

namespace {

Status validate(const HttpServer::Config& config) {
  if (config.threads < 1) return make_error(ErrorCode::bad_request, "http: threads must be at least 1");
  if (config.max_connections < 1) return make_error(ErrorCode::bad_request, "http: max_connections must be at least 1");
  if (config.max_header_bytes < 64) return make_error(ErrorCode::bad_request, "http: max_header_bytes is too small");
  if (config.read_timeout.count() <= 0 || config.idle_timeout.count() <= 0) {
    return make_error(ErrorCode::bad_request, "http: timeouts must be positive");
  }
  if (!is_safe_value(config.server_header)) {
    return make_error(ErrorCode::bad_request, "http: server_header must not contain CR or LF");
  }
  return {};
}

}  // namespace

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() = default;  // ~Impl runs shutdown(0ms)

Result<std::unique_ptr<HttpServer>> HttpServer::start(Config config, HttpHandler& handler) {
  try {
    if (auto valid = validate(config); !valid.ok()) return valid.error();
    auto impl = std::make_unique<Impl>(std::move(config), handler);
    if (auto listening = impl->listen(); !listening.ok()) return listening.error();
    impl->run();
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
  } catch (const std::exception& e) {
    return make_error(ErrorCode::unavailable, std::string("cannot start the HTTP server: ") + e.what());
  } catch (...) {
    return make_error(ErrorCode::unavailable, "cannot start the HTTP server: unknown error");
  }
}

std::uint16_t HttpServer::port() const { return impl_->port(); }

std::string HttpServer::address() const { return impl_->address(); }

void HttpServer::stop_accepting() {
  try {
    impl_->stop_accepting();
  } catch (const std::exception& e) {
    spdlog::error("http: stop_accepting failed: {}", e.what());
  } catch (...) {
    spdlog::error("http: stop_accepting failed");
  }
}

void HttpServer::shutdown(std::chrono::milliseconds grace) {
  try {
    impl_->shutdown(grace);
  } catch (const std::exception& e) {
    spdlog::error("http: shutdown failed: {}", e.what());
  } catch (...) {
    spdlog::error("http: shutdown failed");
  }
}

}  // namespace ferry
