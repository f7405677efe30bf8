// ferry_bench_load: an HTTP/1.1 keep-alive POST load generator for the
// benchmarks (bench/run.py). It is not part of Ferry.
//
//   ferry_bench_load --url http://HOST:PORT/PATH [--header 'Name: value']...
//                    [--connections N] [--rate R] [--duration S] [--batch N]
//                    [--payload-bytes B] [--requests N] [--timeout S]
//                    [--type NAME] [--id-prefix TEXT] [--threads N]
//
// Two ways to load the server:
//   closed loop (--rate 0, the default): every connection sends its next
//     request as soon as the previous answer arrived: as fast as the server
//     answers. Latency is measured from sending to the end of the answer.
//   open loop (--rate R): R messages per second in total, spread evenly over
//     the connections (connection i sends at start + (k*N + i)/R' where R' is
//     R requests/s, i.e. R / batch). A connection still waiting for an answer
//     sends late; latency is measured from the SCHEDULED time, so a slow
//     server is not hidden by the generator waiting for it (no coordinated
//     omission). Sends due before the end that never went out are "missed".
//
// The body of every request is new: with --batch 0 one message
//   {"type":"bench.event","data":{"bench_id":"<prefix>-<conn>-<seq>","sent_us":<us>,"pad":"…"}}
// and with --batch N the batch route's body {"messages":[<N such messages>]}.
// sent_us is the time of sending (CLOCK_REALTIME, microseconds since the
// epoch), so a receiver on the same machine can compute end-to-end latency.
// --payload-bytes pads each message's data object to about that size.
//
// It stops sending at --duration (or after --requests requests in total),
// waits at most --timeout for the answers still outstanding, and prints one
// JSON line on stdout:
//   {"mode","connections","offered_rate","batch","duration_s","elapsed_s",
//    "requests","ok","non_2xx","errors","unfinished","missed","messages",
//    "rate","request_rate","latency_ms":{"p50","p90","p99","max","mean"},
//    "statuses":{"202":n,…},"first_error"}
// requests: answers received; ok: 2xx answers; messages: ok × max(1, batch),
// the messages the server accepted; rate: messages / elapsed_s; errors:
// connection failures, timeouts and malformed answers; unfinished: requests
// still unanswered when it stopped. Exit status 0 when it ran (whatever the
// answers), 2 on bad arguments.

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

struct Options {
  std::string url;
  std::string host;
  std::string port;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  int connections = 8;
  double rate = 0;  // messages per second in total; 0 = closed loop
  double duration_s = 10;
  int batch = 0;
  std::size_t payload_bytes = 64;
  std::uint64_t max_requests = 0;  // 0 = no limit
  double timeout_s = 10;
  std::string type = "bench.event";
  std::string id_prefix;
  int threads = 1;
};

std::int64_t realtime_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

// What one connection saw; merged after the run.
struct Stats {
  std::uint64_t requests = 0;  // answers received
  std::uint64_t ok = 0;
  std::uint64_t non_2xx = 0;
  std::uint64_t errors = 0;
  std::uint64_t unfinished = 0;
  std::uint64_t missed = 0;
  std::vector<std::uint32_t> latency_us;
  std::map<unsigned, std::uint64_t> statuses;
  std::string first_error;
  steady::time_point last_answer{};
};

// Shared by the connections; read-only after start but for the request
// budget and the count of connections still alive.
struct Run {
  const Options& options;
  tcp::resolver::results_type endpoints;
  steady::time_point start{};
  steady::time_point end{};  // nothing is sent from here on
  std::atomic<std::uint64_t> budget_used{0};
  std::atomic<int> alive{0};
  std::function<void()> on_all_done{};  // called once, by the last connection to go
  bool open_loop() const { return options.rate > 0; }
  // Takes one request from --requests; false when it is used up.
  bool take_request() {
    if (options.max_requests == 0) return true;
    return budget_used.fetch_add(1, std::memory_order_relaxed) < options.max_requests;
  }
  bool budget_exhausted() const {
    return options.max_requests != 0 && budget_used.load(std::memory_order_relaxed) >= options.max_requests;
  }
};

class BodyWriter {
 public:
  BodyWriter(const Options& options, int connection) : options_(options) {
    prefix_ = options.id_prefix.empty() ? std::string() : options.id_prefix + "-";
    prefix_ += std::to_string(connection) + "-";
    // {"bench_id":"…","sent_us":…,"pad":"…"}: the pad brings data to about payload_bytes.
    const std::size_t fixed = 40 + prefix_.size() + 8 + 16;
    pad_.assign(options.payload_bytes > fixed ? options.payload_bytes - fixed : 0, 'x');
  }

  // A new body; every message gets its own id, all share the send time.
  void write(std::string& body, std::int64_t sent_us) {
    body.clear();
    if (options_.batch <= 0) {
      append_message(body, sent_us);
      return;
    }
    body += "{\"messages\":[";
    for (int i = 0; i < options_.batch; ++i) {
      if (i) body.push_back(',');
      append_message(body, sent_us);
    }
    body += "]}";
  }

 private:
  void append_message(std::string& body, std::int64_t sent_us) {
    char number[32];
    body += "{\"type\":\"";
    body += options_.type;
    body += "\",\"data\":{\"bench_id\":\"";
    body += prefix_;
    auto end = std::to_chars(number, number + sizeof number, seq_++).ptr;
    body.append(number, end);
    body += "\",\"sent_us\":";
    end = std::to_chars(number, number + sizeof number, sent_us).ptr;
    body.append(number, end);
    if (!pad_.empty()) {
      body += ",\"pad\":\"";
      body += pad_;
      body += '"';
    }
    body += "}}";
  }

  const Options& options_;
  std::string prefix_;
  std::string pad_;
  std::uint64_t seq_ = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(net::io_context& io, Run& run, int index, Stats& stats)
      : run_(run),
        stats_(stats),
        strand_(net::make_strand(io)),
        stream_(strand_),
        timer_(strand_),
        body_(run.options, index) {
    const Options& o = run.options;
    request_.method(http::verb::post);
    request_.target(o.target);
    request_.version(11);
    request_.set(http::field::host, o.host + ":" + o.port);
    request_.set(http::field::content_type, "application/json");
    request_.set(http::field::user_agent, "ferry-bench-load");
    for (const auto& [name, value] : o.headers) request_.set(name, value);
    request_.keep_alive(true);
    if (run.open_loop()) {
      // Requests per second over all connections, then this connection's share.
      const double request_rate = o.rate / std::max(1, o.batch);
      interval_ = std::chrono::duration<double>(static_cast<double>(o.connections) / request_rate);
      offset_ = std::chrono::duration<double>(static_cast<double>(index) / request_rate);
      const double room = o.duration_s - offset_.count();
      slots_before_end_ = room > 0 ? static_cast<std::uint64_t>(std::ceil(room / interval_.count())) : 0;
    }
    run_.alive.fetch_add(1);
    const double expected = run.open_loop() ? o.duration_s * o.rate / std::max(1, o.batch) / o.connections : 1024.0;
    stats_.latency_us.reserve(static_cast<std::size_t>(std::min(expected * 1.1 + 16, 4.0e6)));
  }

  ~Connection() {
    if (run_.alive.fetch_sub(1) == 1 && run_.on_all_done) run_.on_all_done();
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() {
    net::post(strand_, [self = shared_from_this()] { self->connect(); });
  }

  // At the hard stop: whatever is outstanding counts as unfinished.
  void abandon() {
    net::post(strand_, [self = shared_from_this()] {
      if (self->busy_) {
        ++self->stats_.unfinished;
        self->busy_ = false;
      }
      self->timer_.cancel();
      self->finish();
    });
  }

 private:
  void fail(std::string_view what, const beast::error_code& ec) {
    ++stats_.errors;
    if (stats_.first_error.empty()) stats_.first_error = std::string(what) + ": " + ec.message();
  }

  void connect() {
    if (done_ || steady::now() >= run_.end) return finish();
    stream_.expires_after(
        std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(run_.options.timeout_s)));
    stream_.async_connect(run_.endpoints, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
      self->on_connect(ec);
    });
  }

  void on_connect(beast::error_code ec) {
    if (done_) return;
    if (ec) {
      fail("connect", ec);
      // Do not spin on a refused port.
      timer_.expires_after(std::chrono::milliseconds(50));
      timer_.async_wait([self = shared_from_this()](beast::error_code) { self->connect(); });
      return;
    }
    beast::error_code ignored;
    stream_.socket().set_option(tcp::no_delay(true), ignored);
    next();
  }

  void next() {
    if (done_) return;
    const auto now = steady::now();
    if (!run_.open_loop()) {
      if (now >= run_.end || !run_.take_request()) return finish();
      send(now);
      return;
    }
    if (slot_ >= slots_before_end_ || now >= run_.end || !run_.take_request()) return finish();
    const auto scheduled =
        run_.start + std::chrono::duration_cast<steady::duration>(offset_ + interval_ * static_cast<double>(slot_));
    ++slot_;
    if (scheduled > now) {
      timer_.expires_at(scheduled);
      timer_.async_wait([self = shared_from_this(), scheduled](beast::error_code ec) {
        if (ec || self->done_) return;
        self->send(scheduled);
      });
      return;
    }
    send(scheduled);
  }

  void send(steady::time_point measured_from) {
    body_.write(request_.body(), realtime_us());
    request_.prepare_payload();
    measured_from_ = run_.open_loop() ? measured_from : steady::now();
    busy_ = true;
    stream_.expires_after(
        std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(run_.options.timeout_s)));
    http::async_write(stream_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (self->done_) return;
      if (ec) return self->broken("write", ec);
      self->read();
    });
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(64u << 20);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (done_) return;
    if (ec) return broken("read", ec);
    busy_ = false;
    const auto now = steady::now();
    stats_.last_answer = now;
    const auto& response = parser_->get();
    const unsigned status = response.result_int();
    ++stats_.requests;
    ++stats_.statuses[status];
    if (status >= 200 && status < 300) {
      ++stats_.ok;
    } else {
      ++stats_.non_2xx;
    }
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - measured_from_).count();
    stats_.latency_us.push_back(static_cast<std::uint32_t>(std::clamp<std::int64_t>(us, 0, UINT32_MAX)));
    if (!response.keep_alive()) {
      beast::error_code ignored;
      stream_.socket().close(ignored);
      buffer_.clear();
      return connect();
    }
    next();
  }

  // A request that got no (complete) answer: counted as an error, then a new connection.
  void broken(std::string_view what, beast::error_code ec) {
    busy_ = false;
    fail(what, ec);
    beast::error_code ignored;
    stream_.socket().close(ignored);
    buffer_.clear();
    connect();
  }

  void finish() {
    if (done_) return;
    done_ = true;
    // Open loop: sends due before the end that never went out (this
    // connection fell behind), unless the request budget ended the run.
    if (run_.open_loop() && !run_.budget_exhausted() && slot_ < slots_before_end_) {
      stats_.missed += slots_before_end_ - slot_;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  Run& run_;
  Stats& stats_;
  net::strand<net::io_context::executor_type> strand_;
  beast::tcp_stream stream_;
  net::steady_timer timer_;
  BodyWriter body_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::chrono::duration<double> interval_{0};
  std::chrono::duration<double> offset_{0};
  std::uint64_t slot_ = 0;  // open loop: the next slot of this connection's schedule
  std::uint64_t slots_before_end_ = 0;
  steady::time_point measured_from_{};
  bool busy_ = false;
  bool done_ = false;
};

[[noreturn]] void fail_usage(const std::string& problem) {
  std::cerr << "ferry_bench_load: " << problem << " (--help lists the options)\n";
  std::exit(2);
}

void parse_url(Options& o) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest = o.url;
  if (!rest.starts_with(kScheme)) fail_usage("--url must start with http:// (no TLS)");
  rest.remove_prefix(kScheme.size());
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  o.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::size_t colon = authority.rfind(':');
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) fail_usage("--url: bad IPv6 literal");
    o.host = std::string(authority.substr(1, close - 1));
    colon = authority.find(':', close);
  } else {
    o.host = std::string(authority.substr(0, colon));
  }
  o.port = colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));
  if (o.host.empty() || o.port.empty()) fail_usage("--url needs a host");
}

double percentile(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::vector<std::string> headers;
  CLI::App app{"ferry_bench_load: a keep-alive POST load generator for Ferry's publish routes"};
  app.add_option("--url", o.url, "http://HOST:PORT/PATH to POST to (no TLS)")->required();
  app.add_option("--header", headers, "extra request header 'Name: value' (repeatable)");
  app.add_option("--connections", o.connections, "keep-alive connections")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--rate", o.rate, "messages/s in total, open loop; 0 = closed loop, as fast as answered")
      ->check(CLI::Range(0.0, 1e8))
      ->capture_default_str();
  app.add_option("--duration", o.duration_s, "seconds of sending")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  app.add_option("--batch", o.batch, "0: one message per request; N: the batch route's body with N messages")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--payload-bytes", o.payload_bytes, "approximate size of each message's data object")
      ->check(CLI::Range(std::size_t{0}, std::size_t{16} << 20))
      ->capture_default_str();
  app.add_option("--requests", o.max_requests, "stop after N requests in total (0: no limit)")->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "longest wait for one answer, and for the last ones at the end")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  app.add_option("--type", o.type, "event type of the messages")->capture_default_str();
  app.add_option("--id-prefix", o.id_prefix, "prefix of the messages' bench_id");
  app.add_option("--threads", o.threads, "io threads")->check(CLI::Range(1, 64))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  for (const auto& header : headers) {
    const std::size_t colon = header.find(':');
    if (colon == std::string::npos || colon == 0) fail_usage("--header must be 'Name: value'");
    std::string field = header.substr(colon + 1);
    field.erase(0, field.find_first_not_of(" \t"));
    o.headers.emplace_back(header.substr(0, colon), field);
  }
  parse_url(o);
  for (std::string_view text : {std::string_view(o.type), std::string_view(o.id_prefix)}) {
    if (text.find_first_of("\"\\") != std::string_view::npos)
      fail_usage("--type and --id-prefix must not hold \" or \\");
  }

  net::io_context io(o.threads);
  tcp::resolver resolver(io);
  beast::error_code ec;
  auto endpoints = resolver.resolve(o.host, o.port, ec);
  if (ec) {
    std::cerr << "ferry_bench_load: cannot resolve " << o.host << ':' << o.port << ": " << ec.message() << '\n';
    return 1;
  }

  Run run{o, endpoints};
  std::vector<Stats> stats(static_cast<std::size_t>(o.connections));
  // The hard stop and the signals wait on their own strand; the last
  // connection to go cancels them so that io.run() returns.
  auto control = net::make_strand(io);
  net::steady_timer hard_stop(control);
  net::signal_set signals(control, SIGINT, SIGTERM);
  run.on_all_done = [&] {
    net::post(control, [&] {
      hard_stop.cancel();
      signals.cancel();
    });
  };
  std::vector<std::weak_ptr<Connection>> connections;
  auto abandon_all = [&] {
    for (auto& weak : connections) {
      if (auto connection = weak.lock()) connection->abandon();
    }
  };
  run.start = steady::now();
  run.end = run.start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.duration_s));
  for (int i = 0; i < o.connections; ++i) {
    auto connection = std::make_shared<Connection>(io, run, i, stats[static_cast<std::size_t>(i)]);
    connections.push_back(connection);
    connection->start();
  }
  // Answers still outstanding --timeout after the end are abandoned.
  hard_stop.expires_at(run.end +
                       std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.timeout_s)));
  hard_stop.async_wait([&](beast::error_code error) {
    if (!error) abandon_all();
  });
  signals.async_wait([&](beast::error_code error, int) {
    if (error) return;
    hard_stop.cancel();
    abandon_all();
  });

  std::vector<std::thread> pool;
  for (int i = 1; i < o.threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : pool) thread.join();

  Stats total;
  steady::time_point last = run.start;
  for (auto& s : stats) {
    total.requests += s.requests;
    total.ok += s.ok;
    total.non_2xx += s.non_2xx;
    total.errors += s.errors;
    total.unfinished += s.unfinished;
    total.missed += s.missed;
    for (const auto& [status, count] : s.statuses) total.statuses[status] += count;
    if (total.first_error.empty()) total.first_error = s.first_error;
    total.latency_us.insert(total.latency_us.end(), s.latency_us.begin(), s.latency_us.end());
    last = std::max(last, s.last_answer);
  }
  std::sort(total.latency_us.begin(), total.latency_us.end());
  // The run lasted until the later of the end of sending and the last answer.
  const double elapsed =
      std::chrono::duration<double>(std::max(last, std::min(run.end, steady::now())) - run.start).count();
  const std::uint64_t messages = total.ok * static_cast<std::uint64_t>(std::max(1, o.batch));
  double mean = 0;
  for (auto v : total.latency_us) mean += v;
  if (!total.latency_us.empty()) mean /= static_cast<double>(total.latency_us.size());

  char line[1024];
  std::string out;
  std::snprintf(line, sizeof line,
                "{\"mode\":\"%s\",\"connections\":%d,\"offered_rate\":%.3f,\"batch\":%d,\"duration_s\":%.3f,"
                "\"elapsed_s\":%.6f,\"requests\":%llu,\"ok\":%llu,\"non_2xx\":%llu,\"errors\":%llu,"
                "\"unfinished\":%llu,\"missed\":%llu,\"messages\":%llu,\"rate\":%.3f,\"request_rate\":%.3f,",
                run.open_loop() ? "open" : "closed", o.connections, o.rate, o.batch, o.duration_s, elapsed,
                static_cast<unsigned long long>(total.requests), static_cast<unsigned long long>(total.ok),
                static_cast<unsigned long long>(total.non_2xx), static_cast<unsigned long long>(total.errors),
                static_cast<unsigned long long>(total.unfinished), static_cast<unsigned long long>(total.missed),
                static_cast<unsigned long long>(messages), elapsed > 0 ? static_cast<double>(messages) / elapsed : 0.0,
                elapsed > 0 ? static_cast<double>(total.requests) / elapsed : 0.0);
  out += line;
  if (total.latency_us.empty()) {
    out += "\"latency_ms\":{\"p50\":null,\"p90\":null,\"p99\":null,\"max\":null,\"mean\":null},";
  } else {
    std::snprintf(line, sizeof line,
                  "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"mean\":%.3f},",
                  percentile(total.latency_us, 50) / 1000.0, percentile(total.latency_us, 90) / 1000.0,
                  percentile(total.latency_us, 99) / 1000.0, total.latency_us.back() / 1000.0, mean / 1000.0);
    out += line;
  }
  out += "\"statuses\":{";
  bool first = true;
  for (const auto& [status, count] : total.statuses) {
    if (!first) out += ',';
    first = false;
    out += "\"" + std::to_string(status) + "\":" + std::to_string(count);
  }
  out += "},\"first_error\":" + (total.first_error.empty() ? std::string("null") : json_string(total.first_error));
  out += "}";
  std::cout << out << std::endl;
  return 0;
}
