#pragma once

// A tiny blocking HTTP/1.1 client for tests: plain POSIX sockets, no
// dependencies, so any test can talk to a real server (or misbehave on
// purpose: raw bytes, half requests, pipelining) without a client library.
//
//   ferry::testutil::TestHttpClient client(server->port());
//   auto response = client.request("POST", "/api/v1/x?y=1", R"({"a":1})",
//                                  {{"Content-Type", "application/json"}});
//   ASSERT_TRUE(response) << client.error();
//   EXPECT_EQ(response->status, 202);
//
// Not thread-safe; one client per thread. Every read has a timeout so a broken
// server fails the test instead of hanging it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::testutil {

struct TestHttpResponse {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, in order
  std::string body;

  // The first header of that (lowercase) name.
  std::optional<std::string> header(std::string_view lowercase_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lowercase_name) return value;
    }
    return std::nullopt;
  }
};

namespace detail {

inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

inline std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace detail

class TestHttpClient {
 public:
  using Clock = std::chrono::steady_clock;
  using Headers = std::vector<std::pair<std::string, std::string>>;

  TestHttpClient() = default;
  // Connects at once; check connected() / error().
  explicit TestHttpClient(std::uint16_t port, std::string host = "127.0.0.1") { connect(port, std::move(host)); }
  ~TestHttpClient() { close(); }

  TestHttpClient(const TestHttpClient&) = delete;
  TestHttpClient& operator=(const TestHttpClient&) = delete;
  TestHttpClient(TestHttpClient&& other) noexcept { *this = std::move(other); }
  TestHttpClient& operator=(TestHttpClient&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = std::exchange(other.fd_, -1);
      host_ = std::move(other.host_);
      port_ = other.port_;
      buffer_ = std::move(other.buffer_);
      error_ = std::move(other.error_);
      last_errno_ = other.last_errno_;
      eof_ = other.eof_;
    }
    return *this;
  }

  // `host` is an IPv4 or IPv6 literal. Returns false (see error(),
  // last_errno(), e.g. ECONNREFUSED) if the connection fails.
  bool connect(std::uint16_t port, std::string host = "127.0.0.1") {
    close();
    host_ = std::move(host);
    port_ = port;
    buffer_.clear();
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family = AF_INET;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);  // NOLINT: the sockets API is built on these casts
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    if (inet_pton(AF_INET, host_.c_str(), &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      v4->sin_port = htons(port);
      length = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, host_.c_str(), &v6->sin6_addr) == 1) {
      family = AF_INET6;
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(port);
      length = sizeof(sockaddr_in6);
    } else {
      return set_error("not an IP address: " + host_, EINVAL);
    }
    fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return set_error("socket", errno);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&storage), length) != 0) {  // NOLINT
      const int saved = errno;
      close();
      return set_error("connect", saved);
    }
    return true;
  }

  bool connected() const { return fd_ >= 0; }
  // What the last failing call ran into.
  const std::string& error() const { return error_; }
  int last_errno() const { return last_errno_; }
  int fd() const { return fd_; }

  // Sends raw bytes, all of them.
  bool send(std::string_view bytes) {
    if (fd_ < 0) return set_error("send: not connected", ENOTCONN);
    while (!bytes.empty()) {
      const auto sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno == EINTR) continue;
        return set_error("send", errno);
      }
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  // Half-closes the sending side (the server sees EOF after what was sent).
  void shutdown_send() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
  }

  // Builds a request: Host and (when there is a body or the method usually has
  // one) Content-Length are added unless `headers` has them.
  static std::string build_request(std::string_view method, std::string_view target, std::string_view body = {},
                                   const Headers& headers = {}, std::string_view host = "localhost") {
    std::string out;
    out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    bool has_host = false;
    bool has_length = false;
    for (const auto& [name, value] : headers) {
      const auto lower = detail::ascii_lower(name);
      has_host = has_host || lower == "host";
      has_length = has_length || lower == "content-length" || lower == "transfer-encoding";
      out.append(name).append(": ").append(value).append("\r\n");
    }
    if (!has_host) out.append("Host: ").append(host).append("\r\n");
    const bool usually_has_body = method == "POST" || method == "PUT" || method == "PATCH";
    if (!has_length && (!body.empty() || usually_has_body)) {
      out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    out.append("\r\n").append(body);
    return out;
  }

  // Sends one request and reads its response. nullopt on failure (error()).
  std::optional<TestHttpResponse> request(std::string_view method, std::string_view target,
                                          std::string_view body = {}, const Headers& headers = {},
                                          std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    if (!send(build_request(method, target, body, headers, host_header()))) return std::nullopt;
    return read_response(timeout, method == "HEAD");
  }

  // Reads one complete response (skipping 1xx interim ones): Content-Length
  // bodies, chunked bodies, or until EOF when neither is given. Bytes after it
  // stay buffered for the next call (pipelining). `head_request`: the response
  // has no body whatever its headers say.
  std::optional<TestHttpResponse> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                                bool head_request = false) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      std::size_t header_end;
      while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
        if (!fill(deadline)) return fail_read("while reading the response head");
      }
      TestHttpResponse response;
      if (!parse_head(std::string_view(buffer_).substr(0, header_end), response)) {
        set_error("malformed response head: " + buffer_.substr(0, header_end), EPROTO);
        return std::nullopt;
      }
      buffer_.erase(0, header_end + 4);
      if (response.status >= 100 && response.status < 200) continue;  // 100 Continue and friends

      const auto length = response.header("content-length");
      const auto encoding = response.header("transfer-encoding");
      if (head_request || response.status == 204 || response.status == 304) {
        // no body
      } else if (encoding && detail::ascii_lower(*encoding).find("chunked") != std::string::npos) {
        if (!read_chunked(deadline, response.body)) return std::nullopt;
      } else if (length) {
        std::size_t size = 0;
        try {
          size = static_cast<std::size_t>(std::stoull(*length));
        } catch (...) {
          set_error("bad Content-Length: " + *length, EPROTO);
          return std::nullopt;
        }
        while (buffer_.size() < size) {
          if (!fill(deadline)) return fail_read("while reading the body");
        }
        response.body = buffer_.substr(0, size);
        buffer_.erase(0, size);
      } else {
        while (fill(deadline)) {
        }
        if (!eof_) return fail_read("while reading a body delimited by EOF");
        response.body = std::exchange(buffer_, {});
      }
      return response;
    }
  }

  // Reads until `marker` has arrived (it stays buffered for read_response()).
  bool read_until(std::string_view marker, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = Clock::now() + timeout;
    while (buffer_.find(marker) == std::string::npos) {
      if (!fill(deadline)) return false;
    }
    return true;
  }

  // True if the server closes the connection (EOF or reset) within `timeout`.
  // Bytes that arrive meanwhile are kept for read_response().
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (fill(deadline)) {
    }
    return eof_ || last_errno_ == ECONNRESET;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    eof_ = false;
  }

  // Bytes received but not yet consumed by read_response().
  const std::string& buffered() const { return buffer_; }

 private:
  std::string host_header() const {
    if (host_.find(':') != std::string::npos) return "[" + host_ + "]:" + std::to_string(port_);
    return host_ + ":" + std::to_string(port_);
  }

  bool set_error(std::string message, int error_number) {
    last_errno_ = error_number;
    error_ = std::move(message);
    if (error_number != 0) error_ += std::string(": ") + std::strerror(error_number);
    return false;
  }

  std::optional<TestHttpResponse> fail_read(const char* when) {
    if (eof_ && error_.empty()) set_error(std::string("connection closed ") + when, 0);
    else error_ += std::string(" ") + when;
    return std::nullopt;
  }

  // Reads more bytes into buffer_. False on EOF (eof_ set), error or timeout.
  bool fill(Clock::time_point deadline) {
    error_.clear();
    last_errno_ = 0;
    if (fd_ < 0) return set_error("not connected", ENOTCONN);
    if (eof_) return false;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return set_error("timed out", ETIMEDOUT);
      pollfd pfd{fd_, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, static_cast<int>(left));
      if (ready < 0) {
        if (errno == EINTR) continue;
        return set_error("poll", errno);
      }
      if (ready == 0) return set_error("timed out", ETIMEDOUT);
      char chunk[16 * 1024];
      const auto got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return set_error("recv", errno);
      }
      if (got == 0) {
        eof_ = true;
        return false;
      }
      buffer_.append(chunk, static_cast<std::size_t>(got));
      return true;
    }
  }

  static bool parse_head(std::string_view head, TestHttpResponse& response) {
    auto line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    head = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
    const auto first_space = status_line.find(' ');
    if (first_space == std::string_view::npos) return false;
    response.version = std::string(status_line.substr(0, first_space));
    if (response.version.rfind("HTTP/", 0) != 0) return false;
    const auto code = status_line.substr(first_space + 1, 3);
    if (code.size() != 3) return false;
    response.status = 0;
    for (char c : code) {
      if (c < '0' || c > '9') return false;
      response.status = response.status * 10 + (c - '0');
    }
    if (status_line.size() > first_space + 5) response.reason = std::string(status_line.substr(first_space + 5));
    while (!head.empty()) {
      line_end = head.find("\r\n");
      const auto line = head.substr(0, line_end);
      head = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) return false;
      response.headers.emplace_back(detail::ascii_lower(line.substr(0, colon)),
                                    std::string(detail::trim(line.substr(colon + 1))));
    }
    return true;
  }

  bool read_line(Clock::time_point deadline, std::string& line) {
    std::size_t end;
    while ((end = buffer_.find("\r\n")) == std::string::npos) {
      if (!fill(deadline)) return static_cast<bool>(fail_read("while reading a chunk"));
    }
    line = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    return true;
  }

  bool read_chunked(Clock::time_point deadline, std::string& body) {
    for (;;) {
      std::string line;
      if (!read_line(deadline, line)) return false;
      std::size_t size = 0;
      try {
        size = static_cast<std::size_t>(std::stoull(line.substr(0, line.find(';')), nullptr, 16));
      } catch (...) {
        return set_error("bad chunk size: " + line, EPROTO);
      }
      if (size == 0) {  // trailers until an empty line
        do {
          if (!read_line(deadline, line)) return false;
        } while (!line.empty());
        return true;
      }
      while (buffer_.size() < size + 2) {
        if (!fill(deadline)) return static_cast<bool>(fail_read("while reading a chunk"));
      }
      body.append(buffer_, 0, size);
      buffer_.erase(0, size + 2);
    }
  }

  int fd_ = -1;
  std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 0;
  std::string buffer_;
  std::string error_;
  int last_errno_ = 0;
  bool eof_ = false;
};

// True if a TCP connection to host:port is accepted by the kernel (a
// listening socket exists); false with ECONNREFUSED once it is closed.
inline bool can_connect(std::uint16_t port, const std::string& host = "127.0.0.1") {
  TestHttpClient client;
  return client.connect(port, host);
}

// One request on a fresh connection.
inline std::optional<TestHttpResponse> http_request(std::uint16_t port, std::string_view method,
                                                    std::string_view target, std::string_view body = {},
                                                    const TestHttpClient::Headers& headers = {}) {
  TestHttpClient client(port);
  if (!client.connected()) return std::nullopt;
  return client.request(method, target, body, headers);
}

}  // namespace ferry::testutil
