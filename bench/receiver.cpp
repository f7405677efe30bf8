// ferry_bench_receiver: a fast keep-alive HTTP/1.1 webhook receiver for the
// benchmarks (bench/scale_out.py, bench/run.py). It is not part of Ferry.
//
//   ferry_bench_receiver [--listen HOST:PORT] [--threads N] [--max-records N]
//
// Prints "ferry-bench-receiver listening on http://HOST:PORT" once it accepts.
//
// Routes:
//   POST <any path>    204, counted and recorded: arrival time (system and
//                      steady clock), the `webhook-id` header, the publish
//                      timestamp of the payload when there is one (the
//                      envelope's top-level "timestamp", RFC 3339 with
//                      milliseconds, which Ferry sets to the message's
//                      created_at: the moment the publish was accepted), and
//                      the payload's "sent_us" when there is one (the
//                      producer's send time in CLOCK_REALTIME microseconds,
//                      which ferry_bench_load puts in every message's data).
//                      Under /fanout/<name> the id recorded is
//                      "<webhook-id>@<name>", so that one message fanned out to
//                      many endpoints (one path each) counts once per endpoint.
//   GET /stats         {"count","first_ms","last_ms","first_mono_ms","last_mono_ms",
//                       "unique_ids","duplicates","without_id","with_timestamp",
//                       "with_sent_us","records_dropped"}
//                      *_ms are Unix epoch milliseconds (system clock),
//                      *_mono_ms CLOCK_MONOTONIC milliseconds (comparable with
//                      Python's time.monotonic() on the same machine); null when
//                      nothing arrived
//   GET /latencies     end-to-end latency (arrival - publish timestamp) in ms of
//                      every request that carried a timestamp:
//                      {"count","min","mean","p50","p90","p99","p999","max",
//                       "sent":{…the same keys…}}; "sent" is arrival - sent_us
//                      over the requests that carried sent_us, in ms with
//                      microsecond precision;
//                      GET /latencies?raw=1 gives one line per request instead:
//                      "<webhook-id> <arrival epoch ms> <latency ms or -> <sent latency ms or ->"
//   GET /ids           one line per distinct webhook-id: "<id> <times received>"
//   DELETE /stats      forgets everything (204)
//   GET /healthz       200 ok
// Anything else answers 404 (405 for other methods).
//
// One io_context on --threads threads (default 1); every connection has its
// own strand. SIGINT/SIGTERM stop it.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/time_format.hpp"

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::int64_t kNoTimestamp = INT64_MIN;
constexpr std::string_view kFanoutPrefix = "/fanout/";

std::int64_t system_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The publish timestamp of a webhook body: the first top-level-looking
// "timestamp":"..." (Ferry's envelope puts it right after "type", whose value
// cannot contain quotes).
std::int64_t publish_timestamp_ms(std::string_view body) {
  static constexpr std::string_view kKey = "\"timestamp\":\"";
  const std::size_t at = body.find(kKey);
  if (at == std::string_view::npos) return kNoTimestamp;
  const std::size_t start = at + kKey.size();
  const std::size_t end = body.find('"', start);
  if (end == std::string_view::npos) return kNoTimestamp;
  const auto ms = ferry::parse_time(body.substr(start, end - start));
  return ms ? *ms : kNoTimestamp;
}

// The producer's send time of a webhook body: the first "sent_us":<digits>
// (ferry_bench_load writes it into every message's data; Ferry relays the
// data byte for byte).
std::int64_t sent_us(std::string_view body) {
  static constexpr std::string_view kKey = "\"sent_us\":";
  const std::size_t at = body.find(kKey);
  if (at == std::string_view::npos) return kNoTimestamp;
  const char* begin = body.data() + at + kKey.size();
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(begin, body.data() + body.size(), value);
  return ec == std::errc() && end != begin ? value : kNoTimestamp;
}

struct Record {
  std::int64_t arrival_us;       // system clock, epoch
  std::int64_t arrival_mono_us;  // steady clock
  std::int64_t published_ms;     // kNoTimestamp when absent
  std::int64_t sent_us;          // kNoTimestamp when absent
  std::uint32_t id_index;        // into Recorder::ids_; UINT32_MAX when no webhook-id
};

class Recorder {
 public:
  explicit Recorder(std::size_t max_records) : max_records_(max_records) { records_.reserve(1 << 16); }

  // `key_suffix`, when not empty, is appended to the id as "@suffix".
  void record(std::string_view webhook_id, std::string_view key_suffix, std::int64_t published_ms, std::int64_t sent,
              std::int64_t arrival_us, std::int64_t arrival_mono_us) {
    std::lock_guard lock(mutex_);
    ++count_;
    if (count_ == 1) {
      first_us_ = arrival_us;
      first_mono_us_ = arrival_mono_us;
    }
    last_us_ = std::max(last_us_, arrival_us);
    last_mono_us_ = std::max(last_mono_us_, arrival_mono_us);
    if (published_ms != kNoTimestamp) ++with_timestamp_;
    if (sent != kNoTimestamp) ++with_sent_us_;
    std::uint32_t index = UINT32_MAX;
    if (webhook_id.empty()) {
      ++without_id_;
    } else {
      lookup_key_.assign(webhook_id);
      if (!key_suffix.empty()) {
        lookup_key_ += '@';
        lookup_key_ += key_suffix;
      }
      auto it = id_index_.find(lookup_key_);
      if (it == id_index_.end()) {
        index = static_cast<std::uint32_t>(ids_.size());
        ids_.push_back(IdCount{lookup_key_, 1});
        id_index_.emplace(lookup_key_, index);
      } else {
        index = it->second;
        ++ids_[index].count;
        ++duplicates_;
      }
    }
    if (records_.size() < max_records_) {
      records_.push_back(Record{arrival_us, arrival_mono_us, published_ms, sent, index});
    } else {
      ++records_dropped_;
    }
  }

  void reset() {
    std::lock_guard lock(mutex_);
    count_ = with_timestamp_ = with_sent_us_ = without_id_ = duplicates_ = records_dropped_ = 0;
    first_us_ = last_us_ = first_mono_us_ = last_mono_us_ = 0;
    records_.clear();
    ids_.clear();
    id_index_.clear();
  }

  std::string stats_json() {
    std::lock_guard lock(mutex_);
    std::ostringstream out;
    out << "{\"count\":" << count_ << ",\"first_ms\":" << ms_or_null(first_us_)
        << ",\"last_ms\":" << ms_or_null(last_us_) << ",\"first_mono_ms\":" << ms_or_null(first_mono_us_)
        << ",\"last_mono_ms\":" << ms_or_null(last_mono_us_) << ",\"unique_ids\":" << ids_.size()
        << ",\"duplicates\":" << duplicates_ << ",\"without_id\":" << without_id_
        << ",\"with_timestamp\":" << with_timestamp_ << ",\"with_sent_us\":" << with_sent_us_
        << ",\"records_dropped\":" << records_dropped_ << "}";
    return out.str();
  }

  std::string latencies_json() {
    std::vector<double> latencies;  // ms, from the publish timestamp
    std::vector<double> from_sent;  // ms, from sent_us
    {
      std::lock_guard lock(mutex_);
      latencies.reserve(std::min<std::size_t>(with_timestamp_, records_.size()));
      from_sent.reserve(std::min<std::size_t>(with_sent_us_, records_.size()));
      for (const auto& r : records_) {
        if (r.published_ms != kNoTimestamp) {
          latencies.push_back(static_cast<double>(r.arrival_us) / 1000.0 - static_cast<double>(r.published_ms));
        }
        if (r.sent_us != kNoTimestamp) from_sent.push_back(static_cast<double>(r.arrival_us - r.sent_us) / 1000.0);
      }
    }
    std::string out = summary_json(latencies);
    out.pop_back();
    out += ",\"sent\":" + summary_json(from_sent) + "}";
    return out;
  }

  std::string latencies_raw() {
    std::lock_guard lock(mutex_);
    std::string out;
    out.reserve(records_.size() * 56);
    char number[64];
    for (const auto& r : records_) {
      out += r.id_index == UINT32_MAX ? std::string_view("-") : std::string_view(ids_[r.id_index].id);
      std::snprintf(number, sizeof number, " %.3f ", static_cast<double>(r.arrival_us) / 1000.0);
      out += number;
      if (r.published_ms == kNoTimestamp) {
        out += "-";
      } else {
        std::snprintf(number, sizeof number, "%.3f",
                      static_cast<double>(r.arrival_us) / 1000.0 - static_cast<double>(r.published_ms));
        out += number;
      }
      if (r.sent_us == kNoTimestamp) {
        out += " -";
      } else {
        std::snprintf(number, sizeof number, " %.3f", static_cast<double>(r.arrival_us - r.sent_us) / 1000.0);
        out += number;
      }
      out += '\n';
    }
    return out;
  }

  std::string ids_text() {
    std::lock_guard lock(mutex_);
    std::string out;
    out.reserve(ids_.size() * 40);
    for (const auto& entry : ids_) {
      out += entry.id;
      out += ' ';
      out += std::to_string(entry.count);
      out += '\n';
    }
    return out;
  }

 private:
  struct IdCount {
    std::string id;
    std::uint64_t count;
  };

  // {"count","min","mean","p50","p90","p99","p999","max"} of `values` (ms), 3 decimals.
  static std::string summary_json(std::vector<double>& values) {
    std::ostringstream out;
    out.setf(std::ios::fixed);
    out.precision(3);
    out << "{\"count\":" << values.size();
    if (values.empty()) {
      out << ",\"min\":null,\"mean\":null,\"p50\":null,\"p90\":null,\"p99\":null,\"p999\":null,\"max\":null}";
      return out.str();
    }
    std::sort(values.begin(), values.end());
    double sum = 0;
    for (double v : values) sum += v;
    auto pct = [&](double p) {
      // Nearest rank.
      const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
      return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
    };
    out << ",\"min\":" << values.front() << ",\"mean\":" << sum / static_cast<double>(values.size())
        << ",\"p50\":" << pct(50) << ",\"p90\":" << pct(90) << ",\"p99\":" << pct(99) << ",\"p999\":" << pct(99.9)
        << ",\"max\":" << values.back() << "}";
    return out.str();
  }

  static std::string ms_or_null(std::int64_t us) {
    if (us == 0) return "null";
    char text[64];
    std::snprintf(text, sizeof text, "%.3f", static_cast<double>(us) / 1000.0);
    return text;
  }

  std::mutex mutex_;
  const std::size_t max_records_;
  std::uint64_t count_ = 0, with_timestamp_ = 0, with_sent_us_ = 0, without_id_ = 0, duplicates_ = 0,
                records_dropped_ = 0;
  std::int64_t first_us_ = 0, last_us_ = 0, first_mono_us_ = 0, last_mono_us_ = 0;
  std::vector<Record> records_;
  std::vector<IdCount> ids_;
  std::unordered_map<std::string, std::uint32_t> id_index_;
  std::string lookup_key_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Recorder& recorder) : stream_(std::move(socket)), recorder_(recorder) {}

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(64u << 20);
    parser_->header_limit(64u << 10);
    stream_.expires_after(std::chrono::seconds(300));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      // Closed by the peer, timed out, or a malformed request: just close.
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    const auto arrival_us = system_us();
    const auto arrival_mono_us = steady_us();
    auto& request = parser_->get();
    const bool keep_alive = request.keep_alive();
    const auto method = request.method();
    const std::string_view target = request.target();

    if (method == http::verb::post) {
      const auto id = request[std::string_view("webhook-id")];
      const std::string_view body = request.body();
      const std::string_view suffix = target.starts_with(kFanoutPrefix)
                                          ? target.substr(kFanoutPrefix.size(), target.find('?') - kFanoutPrefix.size())
                                          : std::string_view();
      recorder_.record(std::string_view(id.data(), id.size()), suffix, publish_timestamp_ms(body), sent_us(body),
                       arrival_us, arrival_mono_us);
      auto response = std::make_shared<http::response<http::empty_body>>(http::status::no_content, request.version());
      response->keep_alive(keep_alive);
      send(response);
      return;
    }
    const std::string_view path = target.substr(0, target.find('?'));
    const std::string_view query = target.size() > path.size() ? target.substr(path.size() + 1) : std::string_view();
    auto respond = [&](http::status status, std::string body, const char* type) {
      auto response = std::make_shared<http::response<http::string_body>>(status, request.version());
      response->set(http::field::content_type, type);
      response->body() = std::move(body);
      response->keep_alive(keep_alive);
      response->prepare_payload();
      send(response);
    };
    if (method == http::verb::get && path == "/stats") {
      respond(http::status::ok, recorder_.stats_json(), "application/json");
    } else if (method == http::verb::get && path == "/latencies") {
      const bool raw = query.find("raw=1") != std::string_view::npos;
      respond(http::status::ok, raw ? recorder_.latencies_raw() : recorder_.latencies_json(),
              raw ? "text/plain" : "application/json");
    } else if (method == http::verb::get && path == "/ids") {
      respond(http::status::ok, recorder_.ids_text(), "text/plain");
    } else if (method == http::verb::delete_ && path == "/stats") {
      recorder_.reset();
      auto response = std::make_shared<http::response<http::empty_body>>(http::status::no_content, request.version());
      response->keep_alive(keep_alive);
      send(response);
    } else if (method == http::verb::get && path == "/healthz") {
      respond(http::status::ok, "ok\n", "text/plain");
    } else if (path == "/stats" || path == "/latencies" || path == "/ids" || path == "/healthz") {
      respond(http::status::method_not_allowed, "method not allowed\n", "text/plain");
    } else {
      respond(http::status::not_found, "not found\n", "text/plain");
    }
  }

  template <class Response>
  void send(std::shared_ptr<Response> response) {
    http::async_write(stream_, *response, [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (!response->keep_alive()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Recorder& recorder_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& io, tcp::acceptor&& acceptor, Recorder& recorder)
      : io_(io), acceptor_(std::move(acceptor)), recorder_(recorder) {}

  void accept() {
    acceptor_.async_accept(net::make_strand(io_),
                           [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                             if (ec == net::error::operation_aborted) return;
                             if (!ec) {
                               beast::error_code ignored;
                               socket.set_option(tcp::no_delay(true), ignored);
                               std::make_shared<Session>(std::move(socket), self->recorder_)->start();
                             }
                             self->accept();
                           });
  }

  void close() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  net::io_context& io_;
  tcp::acceptor acceptor_;
  Recorder& recorder_;
};

[[noreturn]] void fail_usage(const std::string& problem) {
  std::cerr << "ferry_bench_receiver: " << problem << " (--help lists the options)\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  int threads = 1;
  std::size_t max_records = 20'000'000;
  CLI::App app{"ferry_bench_receiver: a fast keep-alive webhook receiver for Ferry's benchmarks"};
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)")->capture_default_str();
  app.add_option("--threads", threads, "io threads")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--max-records", max_records, "per-request records kept (counts go on beyond)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000'000}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos) fail_usage("--listen must be HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = listen.substr(colon + 1);
  unsigned short port = 0;
  if (auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      ec != std::errc() || end != port_text.data() + port_text.size()) {
    fail_usage("--listen: the port must be a number from 0 to 65535");
  }

  net::io_context io(threads);
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) fail_usage("--listen: not an IP address: " + host);
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint(address, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    std::cerr << "ferry_bench_receiver: cannot listen on " << listen << ": " << ec.message() << '\n';
    return 1;
  }
  const auto bound = acceptor.local_endpoint();

  Recorder recorder(max_records);
  auto listener = std::make_shared<Listener>(io, std::move(acceptor), recorder);
  listener->accept();

  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    listener->close();
    io.stop();
  });

  const std::string shown_host =
      bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
  std::cout << "ferry-bench-receiver listening on http://" << shown_host << ':' << bound.port() << std::endl;

  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& thread : pool) thread.join();
  return 0;
}
