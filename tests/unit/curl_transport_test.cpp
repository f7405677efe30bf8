#include "delivery/curl_transport.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace ferry {
namespace {

using namespace std::chrono_literals;

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::optional<std::string> find_header(const HeaderList& headers, const std::string& name) {
  for (const auto& [key, value] : headers) {
    if (lowercase(key) == lowercase(name)) return value;
  }
  return std::nullopt;
}

std::size_t count_header(const HeaderList& headers, const std::string& name) {
  return static_cast<std::size_t>(std::count_if(headers.begin(), headers.end(),
                                                [&](const auto& header) { return lowercase(header.first) == name; }));
}

sockaddr_in loopback_address(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return address;
}

std::uint16_t bound_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

// A port on 127.0.0.1 that nothing listens on: bound once, then released.
std::uint16_t closed_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_in address = loopback_address(0);
  bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const std::uint16_t port = bound_port(fd);
  close(fd);
  return port;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

std::string http_response(int status, std::string_view reason, const HeaderList& headers, std::string_view body) {
  std::string text = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  for (const auto& [name, value] : headers) text += name + ": " + value + "\r\n";
  text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  text += body;
  return text;
}

// A small blocking HTTP/1.1 server on 127.0.0.1: one thread per connection,
// keep-alive, canned behaviours chosen by path. Counts connections, records
// requests.
class TestServer {
 public:
  struct Request {
    std::string method;
    std::string target;
    HeaderList headers;
    std::string body;
  };

  TestServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const sockaddr_in address = loopback_address(0);
    if (bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        listen(listen_fd_, 512) != 0) {
      throw std::runtime_error("test server cannot listen");
    }
    port_ = bound_port(listen_fd_);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~TestServer() { stop(); }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  std::string url(std::string_view path) const { return "http://127.0.0.1:" + std::to_string(port_) + std::string(path); }
  std::uint16_t port() const { return port_; }
  int connections() const { return accepted_.load(); }

  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  bool wait_for_requests(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    changed_.notify_all();
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    for (const int fd : client_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes recv()
    for (auto& handler : handlers_) handler.join();
    for (const int fd : client_fds_) close(fd);
    close(listen_fd_);
  }

 private:
  void accept_loop() {
    for (;;) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0 && (errno == EINTR || errno == ECONNABORTED)) continue;
      if (fd < 0) return;
      ++accepted_;
      std::lock_guard lock(mutex_);
      client_fds_.push_back(fd);
      handlers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // Keeps the fd open until stop(), so stop() never touches a reused number.
  void serve(int fd) {
    std::string buffer;
    while (auto request = read_request(fd, buffer)) {
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(*request);
      }
      changed_.notify_all();
      if (!respond(fd, *request)) break;
    }
    ::shutdown(fd, SHUT_RDWR);
  }

  static bool read_more(int fd, std::string& buffer) {
    char chunk[64 * 1024];
    const ssize_t received = recv(fd, chunk, sizeof chunk, 0);
    if (received <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(received));
    return true;
  }

  static std::optional<Request> read_request(int fd, std::string& buffer) {
    std::size_t header_end = 0;
    while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more(fd, buffer)) return std::nullopt;
      if (buffer.front() == '\x16') {  // a TLS handshake: answer in plain HTTP, as web servers do
        write_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return std::nullopt;
      }
    }
    Request request;
    std::size_t line_start = buffer.find("\r\n") + 2;
    const std::string request_line = buffer.substr(0, line_start - 2);
    const auto first_space = request_line.find(' ');
    request.method = request_line.substr(0, first_space);
    request.target = request_line.substr(first_space + 1, request_line.find(' ', first_space + 1) - first_space - 1);
    while (line_start < header_end) {
      const std::size_t line_end = buffer.find("\r\n", line_start);
      const std::string line = buffer.substr(line_start, line_end - line_start);
      const auto colon = line.find(':');
      const auto value_start = line.find_first_not_of(' ', colon + 1);
      request.headers.emplace_back(line.substr(0, colon), value_start == std::string::npos ? "" : line.substr(value_start));
      line_start = line_end + 2;
    }
    const auto length_text = find_header(request.headers, "content-length");
    const std::size_t length = length_text ? std::stoul(*length_text) : 0;
    const std::size_t body_start = header_end + 4;
    while (buffer.size() < body_start + length) {
      if (!read_more(fd, buffer)) return std::nullopt;
    }
    request.body = buffer.substr(body_start, length);
    buffer.erase(0, body_start + length);
    return request;
  }

  // Answers one request; false ends the connection.
  bool respond(int fd, const Request& request) {
    const std::string& path = request.target;
    if (path == "/hang") {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_; });
      return false;
    }
    if (path.starts_with("/slow/")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(path.substr(6))));
      return write_all(fd, http_response(200, "OK", {}, "slow"));
    }
    if (path.starts_with("/big/")) {
      return write_all(fd, http_response(200, "OK", {}, std::string(std::stoul(path.substr(5)), 'x')));
    }
    if (path == "/redirect") {
      return write_all(fd, http_response(302, "Found", {{"Location", url("/ok")}}, ""));
    }
    if (path == "/continue") {
      return write_all(fd, "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n") &&
             write_all(fd, http_response(200, "OK", {{"X-Final", "1"}}, "final"));
    }
    if (path == "/echo") return write_all(fd, http_response(200, "OK", {}, request.body));
    return write_all(fd, http_response(200, "OK", {{"X-Test", "Yes"}, {"Content-Type", "text/plain"}}, "hello"));
  }

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::vector<Request> requests_;
  std::vector<int> client_fds_;
  std::vector<std::thread> handlers_;
  std::thread acceptor_;
};

// Every response a set of sends produced, by the index of the send, so a
// test can check each callback ran exactly once.
class Completions {
 public:
  Transport::Callback callback(std::size_t index) {
    return [this, index](TransportResponse response) {
      std::lock_guard lock(mutex_);
      done_.emplace_back(index, std::move(response));
      changed_.notify_all();
    };
  }

  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return done_.size() >= count; });
  }

  std::vector<std::pair<std::size_t, TransportResponse>> done() const {
    std::lock_guard lock(mutex_);
    return done_;
  }

  // True when indices 0..count-1 each completed exactly once.
  bool each_once(std::size_t count) const {
    std::vector<std::size_t> indices;
    for (const auto& entry : done()) indices.push_back(entry.first);
    std::sort(indices.begin(), indices.end());
    std::vector<std::size_t> expected(count);
    for (std::size_t i = 0; i < count; ++i) expected[i] = i;
    return indices == expected;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::pair<std::size_t, TransportResponse>> done_;
};

CurlTransport::Config loopback_config() {
  CurlTransport::Config config;
  auto policy = TargetPolicy::parse("127.0.0.0/8");
  EXPECT_TRUE(policy.ok());
  config.policy = *policy;
  config.user_agent = "Ferry-Test/1";
  return config;
}

OutgoingRequest post(std::string url, std::string body = "{}") {
  OutgoingRequest request;
  request.url = std::move(url);
  request.headers = {{"Content-Type", "application/json"}};
  request.body = std::move(body);
  request.connect_timeout = 2s;
  request.total_timeout = 10s;
  return request;
}

TransportResponse send_and_wait(Transport& transport, OutgoingRequest request) {
  // Shared, so a callback arriving after a failed wait has somewhere to go.
  auto done = std::make_shared<std::promise<TransportResponse>>();
  auto future = done->get_future();
  transport.send(std::move(request), [done](TransportResponse response) { done->set_value(std::move(response)); });
  if (future.wait_for(30s) != std::future_status::ready) {
    ADD_FAILURE() << "callback did not run";
    return {};
  }
  return future.get();
}

TEST(CurlTransportTest, ErrorNamesFollowTheTransportContract) {
  const std::vector<std::pair<CURLcode, std::string_view>> cases = {
      {CURLE_OPERATION_TIMEDOUT, "timeout"},      {CURLE_COULDNT_CONNECT, "refused"},
      {CURLE_COULDNT_RESOLVE_HOST, "dns"},        {CURLE_SSL_CONNECT_ERROR, "tls"},
      {CURLE_PEER_FAILED_VERIFICATION, "tls"},    {CURLE_SSL_CACERT_BADFILE, "tls"},
      {CURLE_SSL_CERTPROBLEM, "tls"},             {CURLE_RECV_ERROR, "connection"},
      {CURLE_SEND_ERROR, "connection"},           {CURLE_GOT_NOTHING, "connection"},
      {CURLE_PARTIAL_FILE, "connection"},         {CURLE_WEIRD_SERVER_REPLY, "connection"},
      {CURLE_HTTP2, "connection"},                {CURLE_HTTP2_STREAM, "connection"},
      {CURLE_UNSUPPORTED_PROTOCOL, "other"},      {CURLE_URL_MALFORMAT, "other"},
      {CURLE_OUT_OF_MEMORY, "other"},
  };
  for (const auto& [code, name] : cases) EXPECT_EQ(curl_error_name(code), name) << code;
}

TEST(CurlTransportTest, PostsHeadersAndBodyAndCapturesTheResponse) {
  TestServer server;
  CurlTransport transport(loopback_config());
  OutgoingRequest request = post(server.url("/ok"), R"({"type":"email.sent"})");
  request.headers.emplace_back("X-Custom", "abc");
  request.headers.emplace_back("X-Empty", "");

  const TransportResponse response = send_and_wait(transport, std::move(request));

  EXPECT_EQ(response.error, "");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(find_header(response.headers, "x-test"), "Yes");
  EXPECT_EQ(count_header(response.headers, "x-test"), 1u);  // names arrive lowercased
  EXPECT_EQ(response.body, "hello");
  EXPECT_GT(response.latency_us, 0);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/ok");
  EXPECT_EQ(requests[0].body, R"({"type":"email.sent"})");
  EXPECT_EQ(find_header(requests[0].headers, "Content-Type"), "application/json");
  EXPECT_EQ(find_header(requests[0].headers, "X-Custom"), "abc");
  EXPECT_EQ(find_header(requests[0].headers, "X-Empty"), "");
  EXPECT_EQ(find_header(requests[0].headers, "User-Agent"), "Ferry-Test/1");
}

TEST(CurlTransportTest, AddsNoHeadersOfItsOwnThatChangeTheRequest) {
  TestServer server;
  CurlTransport transport(loopback_config());
  OutgoingRequest request = post(server.url("/echo"), std::string(2 << 20, 'b'));  // big enough for curl's Expect
  request.headers = {{"User-Agent", "PenguinMails-Webhooks/1.0"}};

  const TransportResponse response = send_and_wait(transport, std::move(request));

  EXPECT_EQ(response.status, 200);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body.size(), std::size_t{2} << 20);
  EXPECT_EQ(count_header(requests[0].headers, "user-agent"), 1u);
  EXPECT_EQ(find_header(requests[0].headers, "User-Agent"), "PenguinMails-Webhooks/1.0");
  EXPECT_EQ(find_header(requests[0].headers, "Expect"), std::nullopt);
  EXPECT_EQ(find_header(requests[0].headers, "Content-Type"), std::nullopt);
}

TEST(CurlTransportTest, RefusesHeadersThatWouldSmuggleOthers) {
  TestServer server;
  CurlTransport transport(loopback_config());
  for (const auto& [name, value] : HeaderList{{"X-Bad", "a\r\nX-Evil: 1"}, {"X Bad", "a"}, {"", "a"}}) {
    OutgoingRequest request = post(server.url("/ok"));
    request.headers.emplace_back(name, value);
    const TransportResponse response = send_and_wait(transport, std::move(request));
    EXPECT_EQ(response.error, "other") << name;
    EXPECT_FALSE(response.status.has_value());
  }
  EXPECT_EQ(server.connections(), 0);
}

TEST(CurlTransportTest, TruncatesTheBodyAndKeepsTheConnection) {
  TestServer server;
  CurlTransport transport(loopback_config());
  OutgoingRequest request = post(server.url("/big/100000"));
  request.max_response_body = 1000;

  const TransportResponse response = send_and_wait(transport, std::move(request));
  const TransportResponse next = send_and_wait(transport, post(server.url("/ok")));

  EXPECT_EQ(response.error, "");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, std::string(1000, 'x'));
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(server.connections(), 1);  // the rest of the body was drained, not the connection dropped
}

TEST(CurlTransportTest, StopsReadingAnOversizedBodyButReportsTheAnswer) {
  TestServer server;
  CurlTransport transport(loopback_config());
  const std::size_t size = CurlTransport::kMaxDiscardedBody + (std::size_t{2} << 20);
  OutgoingRequest request = post(server.url("/big/" + std::to_string(size)));
  request.max_response_body = 10;

  const TransportResponse response = send_and_wait(transport, std::move(request));

  EXPECT_EQ(response.error, "");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, std::string(10, 'x'));
}

TEST(CurlTransportTest, NeverFollowsRedirects) {
  TestServer server;
  CurlTransport transport(loopback_config());

  const TransportResponse response = send_and_wait(transport, post(server.url("/redirect")));

  EXPECT_EQ(response.error, "");
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(find_header(response.headers, "location"), server.url("/ok"));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(CurlTransportTest, KeepsOnlyTheFinalResponsesHeaders) {
  TestServer server;
  CurlTransport transport(loopback_config());

  const TransportResponse response = send_and_wait(transport, post(server.url("/continue")));

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(find_header(response.headers, "x-final"), "1");
  EXPECT_EQ(find_header(response.headers, "x-interim"), std::nullopt);
  EXPECT_EQ(response.body, "final");
}

TEST(CurlTransportTest, ReportsATimeoutWhenTheServerNeverAnswers) {
  TestServer server;
  CurlTransport transport(loopback_config());
  OutgoingRequest request = post(server.url("/hang"));
  request.total_timeout = 300ms;

  const TransportResponse response = send_and_wait(transport, std::move(request));

  EXPECT_EQ(response.error, "timeout");
  EXPECT_FALSE(response.status.has_value());
  EXPECT_FALSE(response.error_detail.empty());
  EXPECT_GE(response.latency_us, 250'000);
  EXPECT_LT(response.latency_us, 5'000'000);
}

TEST(CurlTransportTest, ReportsAClosedPortAsRefused) {
  CurlTransport transport(loopback_config());

  const TransportResponse response =
      send_and_wait(transport, post("http://127.0.0.1:" + std::to_string(closed_port()) + "/"));

  EXPECT_EQ(response.error, "refused");
  EXPECT_FALSE(response.error_detail.empty());
}

TEST(CurlTransportTest, ReportsAnUnknownHostAsDns) {
  CurlTransport transport(loopback_config());
  // .invalid never resolves (RFC 6761).
  const TransportResponse response = send_and_wait(transport, post("http://no-such-host.invalid/"));
  EXPECT_EQ(response.error, "dns");
}

TEST(CurlTransportTest, ReportsTlsFailures) {
  TestServer server;  // speaks plain HTTP, so the TLS handshake fails
  CurlTransport transport(loopback_config());
  OutgoingRequest request = post("https://127.0.0.1:" + std::to_string(server.port()) + "/ok");
  request.total_timeout = 3s;

  const TransportResponse response = send_and_wait(transport, std::move(request));

  EXPECT_EQ(response.error, "tls") << response.error_detail;
}

TEST(CurlTransportTest, RefusesRefusedTargetsBeforeConnecting) {
  TestServer server;
  CurlTransport transport(CurlTransport::Config{});  // default policy: loopback refused
  const std::string port = std::to_string(server.port());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://127.0.0.1:" + port + "/ok", "127.0.0.1 is a loopback address"},
      {"http://localhost:" + port + "/ok", "is a loopback address"},         // judged after DNS
      {"http://2130706433:" + port + "/ok", "127.0.0.1 is a loopback address"},  // curl normalises the spelling
      {"http://[::1]:" + port + "/ok", "::1 is a loopback address"},
  };
  for (const auto& [url, reason] : cases) {
    const TransportResponse response = send_and_wait(transport, post(url));
    EXPECT_EQ(response.error, "refused_target") << url;
    EXPECT_NE(response.error_detail.find(reason), std::string::npos) << url << ": " << response.error_detail;
    EXPECT_FALSE(response.status.has_value());
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server.connections(), 0);
}

TEST(CurlTransportTest, SpeaksOnlyHttpAndHttps) {
  TestServer server;
  CurlTransport transport(loopback_config());
  const std::string port = std::to_string(server.port());
  for (const std::string& url : {"ftp://127.0.0.1:" + port + "/", "gopher://127.0.0.1:" + port + "/",
                                std::string("file:///etc/passwd")}) {
    const TransportResponse response = send_and_wait(transport, post(url));
    EXPECT_EQ(response.error, "other") << url;
  }
  EXPECT_EQ(server.connections(), 0);
}

TEST(CurlTransportTest, IgnoresProxySettingsInTheEnvironment) {
  TestServer server;
  const std::string dead_proxy = "http://127.0.0.1:" + std::to_string(closed_port());
  for (const char* name : {"http_proxy", "HTTPS_PROXY", "ALL_PROXY"}) setenv(name, dead_proxy.c_str(), 1);
  CurlTransport transport(loopback_config());

  const TransportResponse response = send_and_wait(transport, post(server.url("/ok")));

  for (const char* name : {"http_proxy", "HTTPS_PROXY", "ALL_PROXY"}) unsetenv(name);
  EXPECT_EQ(response.error, "") << response.error_detail;
  EXPECT_EQ(response.status, 200);
}

TEST(CurlTransportTest, ReusesOneConnectionForSequentialRequests) {
  TestServer server;
  CurlTransport transport(loopback_config());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(send_and_wait(transport, post(server.url("/ok"))).status, 200);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.requests().size(), 5u);
}

// curl's own default keeps four idle connections per transfer running at the
// moment: after a lull with one transfer running, a new burst opened most of
// its connections again.
TEST(CurlTransportTest, KeepsABurstsConnectionsThroughALull) {
  TestServer server;
  CurlTransport transport(loopback_config());
  constexpr std::size_t kBurst = 8;
  const auto burst = [&] {
    Completions completions;
    for (std::size_t i = 0; i < kBurst; ++i) transport.send(post(server.url("/slow/50")), completions.callback(i));
    ASSERT_TRUE(completions.wait_for(kBurst, 30s));
    for (const auto& [index, response] : completions.done()) EXPECT_EQ(response.status, 200) << index;
  };
  burst();
  ASSERT_EQ(server.connections(), static_cast<int>(kBurst));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(send_and_wait(transport, post(server.url("/ok"))).status, 200);
  burst();
  EXPECT_EQ(server.connections(), static_cast<int>(kBurst));
}

TEST(CurlTransportTest, AReusedHandleCarriesNothingOverFromItsLastTransfer) {
  TestServer server;
  CurlTransport transport(loopback_config());
  const std::string port = std::to_string(server.port());

  OutgoingRequest first = post(server.url("/big/5000"), "first");
  first.headers.emplace_back("X-Only-First", "1");
  first.max_response_body = 10;
  const TransportResponse cut = send_and_wait(transport, std::move(first));
  const TransportResponse wrong_scheme = send_and_wait(transport, post("ftp://127.0.0.1:" + port + "/"));
  const TransportResponse redirected = send_and_wait(transport, post(server.url("/redirect")));
  const TransportResponse echoed = send_and_wait(transport, post(server.url("/echo"), "second"));

  EXPECT_EQ(cut.body, std::string(10, 'x'));
  EXPECT_EQ(wrong_scheme.error, "other");
  EXPECT_EQ(redirected.status, 302);
  EXPECT_EQ(echoed.error, "") << echoed.error_detail;
  EXPECT_EQ(echoed.status, 200);
  EXPECT_EQ(echoed.body, "second");  // the default body limit again, not the first request's 10 bytes
  EXPECT_FALSE(find_header(echoed.headers, "location").has_value());
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(find_header(requests[2].headers, "X-Only-First"), std::nullopt);
  EXPECT_EQ(find_header(requests[2].headers, "Content-Type"), "application/json");
}

TEST(CurlTransportTest, AHangingRequestDoesNotHoldOthersToTheSameHost) {
  TestServer server;
  Completions completions;
  CurlTransport transport(loopback_config());
  OutgoingRequest hanging = post(server.url("/hang"));
  hanging.total_timeout = 60s;
  transport.send(std::move(hanging), completions.callback(0));
  ASSERT_TRUE(server.wait_for_requests(1, 10s));

  const auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(send_and_wait(transport, post(server.url("/ok"))).status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
}

TEST(CurlTransportTest, CompletesManyConcurrentRequestsFromManyThreads) {
  TestServer server;
  Completions completions;  // outlives the transport, which may still call back while stopping
  CurlTransport transport(loopback_config());
  constexpr std::size_t kThreads = 4;
  constexpr std::size_t kPerThread = 50;
  std::vector<std::thread> senders;
  for (std::size_t t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (std::size_t i = 0; i < kPerThread; ++i) {
        const std::size_t index = t * kPerThread + i;
        transport.send(post(server.url("/echo"), std::to_string(index)), completions.callback(index));
      }
    });
  }
  for (auto& sender : senders) sender.join();

  ASSERT_TRUE(completions.wait_for(kThreads * kPerThread, 30s));
  std::this_thread::sleep_for(50ms);  // room for a wrongful second callback
  EXPECT_TRUE(completions.each_once(kThreads * kPerThread));
  for (const auto& [index, response] : completions.done()) {
    EXPECT_EQ(response.status, 200) << index << ": " << response.error << " " << response.error_detail;
    EXPECT_EQ(response.body, std::to_string(index));
  }
}

TEST(CurlTransportTest, CapsConnectionsPerHost) {
  TestServer server;
  CurlTransport::Config config = loopback_config();
  config.max_connections_per_host = 2;
  Completions completions;
  CurlTransport transport(config);
  for (std::size_t i = 0; i < 10; ++i) transport.send(post(server.url("/slow/20")), completions.callback(i));

  ASSERT_TRUE(completions.wait_for(10, 30s));
  for (const auto& [index, response] : completions.done()) EXPECT_EQ(response.status, 200) << index;
  EXPECT_LE(server.connections(), 2);
}

TEST(CurlTransportTest, CallbacksMaySendMore) {
  TestServer server;
  Completions completions;  // outlives the transport, which may still call back while stopping
  CurlTransport transport(loopback_config());
  auto follow_up = completions.callback(1);
  transport.send(post(server.url("/ok")), [&](TransportResponse response) {
    transport.send(post(server.url("/ok")), follow_up);
    completions.callback(0)(std::move(response));
  });

  ASSERT_TRUE(completions.wait_for(2, 10s));
  EXPECT_TRUE(completions.each_once(2));
}

TEST(CurlTransportTest, ShutdownFailsWhatCannotFinishInTime) {
  TestServer server;
  Completions completions;  // outlives the transport, which may still call back while stopping
  CurlTransport transport(loopback_config());
  for (std::size_t i = 0; i < 3; ++i) {
    OutgoingRequest request = post(server.url("/hang"));
    request.total_timeout = 60s;
    transport.send(std::move(request), completions.callback(i));
  }
  ASSERT_TRUE(server.wait_for_requests(3, 10s));

  const auto before = std::chrono::steady_clock::now();
  transport.shutdown(100ms);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);

  ASSERT_TRUE(completions.wait_for(3, 1s));
  EXPECT_TRUE(completions.each_once(3));
  for (const auto& [index, response] : completions.done()) {
    EXPECT_EQ(response.error, "other") << index;
    EXPECT_EQ(response.error_detail, "shutdown") << index;
  }
}

TEST(CurlTransportTest, ShutdownLetsInFlightRequestsFinishWithinGrace) {
  TestServer server;
  Completions completions;  // outlives the transport, which may still call back while stopping
  CurlTransport transport(loopback_config());
  transport.send(post(server.url("/slow/200")), completions.callback(0));
  ASSERT_TRUE(server.wait_for_requests(1, 10s));

  transport.shutdown(5s);

  ASSERT_TRUE(completions.wait_for(1, 1s));
  EXPECT_EQ(completions.done().at(0).second.status, 200);
}

TEST(CurlTransportTest, SendAfterShutdownFailsAtOnceAndShutdownIsIdempotent) {
  CurlTransport transport(loopback_config());
  transport.shutdown(0ms);
  transport.shutdown(1s);

  Completions completions;
  transport.send(post("http://127.0.0.1:1/"), completions.callback(0));

  ASSERT_TRUE(completions.wait_for(1, 0ms));  // ran inline
  EXPECT_EQ(completions.done().at(0).second.error, "other");
  EXPECT_EQ(completions.done().at(0).second.error_detail, "shutdown");
}

TEST(CurlTransportTest, DestructorCompletesPendingCallbacks) {
  TestServer server;
  Completions completions;
  {
    CurlTransport transport(loopback_config());
    OutgoingRequest request = post(server.url("/hang"));
    request.total_timeout = 60s;
    transport.send(std::move(request), completions.callback(0));
    transport.send(post(server.url("/hang")), completions.callback(1));
    ASSERT_TRUE(server.wait_for_requests(1, 10s));
  }
  ASSERT_TRUE(completions.wait_for(2, 0ms));
  EXPECT_TRUE(completions.each_once(2));
  for (const auto& [index, response] : completions.done()) EXPECT_EQ(response.error_detail, "shutdown") << index;
}

TEST(CurlTransportTest, SurvivesACallbackThatThrows) {
  TestServer server;
  CurlTransport transport(loopback_config());
  transport.send(post(server.url("/ok")), [](TransportResponse) { throw std::runtime_error("bug in a callback"); });
  EXPECT_EQ(send_and_wait(transport, post(server.url("/ok"))).status, 200);
}

}  // namespace
}  // namespace ferry
