// ferry_bench_seed: fills a SQLite data dir with already-delivered messages,
// so that benchmarks can run against a store with a large history
// (bench/run.py, "scaling"). It is not part of Ferry.
//
//   ferry_bench_seed --data-dir DIR --messages N [--workspace ID] [--endpoint-id ID]
//                    [--endpoint-url URL] [--batch N] [--payload-bytes B] [--days D]
//
// The database is opened, created and migrated by Ferry's own store code
// (open_store, the same as `ferry serve --data-dir DIR`), and filled through
// Store::import_messages, one transaction per --batch messages. The workspace
// and the endpoint are created first through the Store interface when they do
// not exist. Every message gets one succeeded delivery to that endpoint and
// one attempt with the request headers Ferry sends under the default profile
// and a 204 answer. Messages are spread evenly over the last --days days
// (oldest first, as they would have been published), well inside the default
// retention of 30 days, and cycle through a few event types.
//
// Progress goes to stderr; the last line on stdout is one JSON object:
//   {"messages","workspace","endpoint_id","seconds","rate","db_bytes"}
// Exit status 0 on success, 1 when the store fails, 2 on bad arguments.

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <future>
#include <iostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/base64.hpp"
#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/signature.hpp"
#include "store/open_store.hpp"

namespace {

struct Options {
  std::string data_dir;
  std::int64_t messages = 0;
  std::string workspace = "bench";
  std::string endpoint_id;
  std::string endpoint_url = "http://127.0.0.1:9/webhooks";
  std::int64_t batch = 10000;
  std::size_t payload_bytes = 256;
  double days = 7;
};

// The Store's Result, or a message and exit 1.
template <class T>
T must(ferry::Result<T> result, std::string_view what) {
  if (!result) {
    std::cerr << "ferry_bench_seed: " << what << ": " << result.error().message << '\n';
    std::exit(1);
  }
  return std::move(result).value();
}

void must(const ferry::Status& status, std::string_view what) {
  if (!status) {
    std::cerr << "ferry_bench_seed: " << what << ": " << status.error().message << '\n';
    std::exit(1);
  }
}

// "Mon, 23 Nov 2026 10:00:00 GMT" (an HTTP date) of a Unix time in ms.
std::string http_date(ferry::UnixMillis ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

// Builds the records; a cheap generator is enough for what is not an id.
class Generator {
 public:
  Generator(const Options& options, std::string endpoint_id, ferry::UnixMillis first_ms, double step_ms)
      : options_(options), endpoint_id_(std::move(endpoint_id)), first_ms_(first_ms), step_ms_(step_ms) {}

  void fill(std::vector<ferry::MessageRecord>& batch, std::int64_t from, std::int64_t count) {
    batch.resize(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) make(batch[static_cast<std::size_t>(i)], from + i);
  }

 private:
  void make(ferry::MessageRecord& record, std::int64_t n) {
    static constexpr std::array<std::string_view, 4> kTypes = {"order.created", "order.paid", "order.shipped",
                                                               "customer.updated"};
    const auto created = first_ms_ + static_cast<ferry::UnixMillis>(static_cast<double>(n) * step_ms_);
    const auto latency_us = static_cast<std::int64_t>(1500 + random_() % 18000);
    const ferry::UnixMillis started = created + 1 + static_cast<ferry::UnixMillis>(random_() % 5);
    const ferry::UnixMillis finished = started + latency_us / 1000 + 1;

    ferry::Message& m = record.message;
    m.id = ferry::new_id("msg", created);
    m.workspace_id = options_.workspace;
    m.type = std::string(kTypes[static_cast<std::size_t>(n) % kTypes.size()]);
    m.created_at_ms = created;
    m.payload = payload(n);

    record.deliveries.resize(1);
    ferry::Delivery& d = record.deliveries[0];
    d.id = ferry::new_id("dlv", created);
    d.workspace_id = m.workspace_id;
    d.message_id = m.id;
    d.endpoint_id = endpoint_id_;
    d.state = ferry::DeliveryState::succeeded;
    d.attempt_count = 1;
    d.next_attempt_at_ms = created;
    d.created_at_ms = created;
    d.updated_at_ms = finished;
    d.lease_token = 1;

    record.attempts.resize(1);
    ferry::Attempt& a = record.attempts[0];
    a.id = ferry::new_id("atm", started);
    a.workspace_id = m.workspace_id;
    a.delivery_id = d.id;
    a.message_id = m.id;
    a.endpoint_id = endpoint_id_;
    a.attempt_number = 1;
    a.started_at_ms = started;
    a.latency_us = latency_us;
    a.url = options_.endpoint_url;
    a.request_headers = {{"content-type", "application/json"},
                         {"user-agent", "Ferry/0.1.0"},
                         {"webhook-id", m.id},
                         {"webhook-signature", "v1," + signature()},
                         {"webhook-timestamp", std::to_string(started / 1000)}};
    a.response_status = 204;
    a.response_headers = {{"date", http_date(finished)}, {"server", "nginx"}};
    a.response_body.clear();
    a.error.clear();
    a.error_detail.clear();
  }

  // An order-like object of about payload_bytes.
  std::string payload(std::int64_t n) {
    std::string out = "{\"order\":\"ord_" + std::to_string(n) + "\",\"amount\":\"" +
                      std::to_string(1 + random_() % 500) + "." + std::to_string(10 + random_() % 90) +
                      "\",\"currency\":\"EUR\",\"customer\":{\"id\":\"cus_" + std::to_string(random_() % 100000) +
                      "\",\"email\":\"customer" + std::to_string(n % 100000) + "@example.com\"}";
    if (out.size() + 12 < options_.payload_bytes) {
      out += ",\"note\":\"";
      out.append(options_.payload_bytes - out.size() - 3, 'x');
      out += '"';
    }
    out += '}';
    return out;
  }

  // base64 of 32 bytes, like an HMAC-SHA256.
  std::string signature() {
    std::array<std::uint64_t, 4> bytes{random_(), random_(), random_(), random_()};
    return ferry::base64_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), sizeof bytes));
  }

  const Options& options_;
  std::string endpoint_id_;
  ferry::UnixMillis first_ms_;
  double step_ms_;
  std::mt19937_64 random_{std::random_device{}()};
};

std::uintmax_t database_bytes(const std::string& data_dir) {
  std::uintmax_t total = 0;
  for (const char* name : {"ferry.db", "ferry.db-wal", "ferry.db-shm"}) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(std::filesystem::path(data_dir) / name, ec);
    if (!ec) total += size;
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"ferry_bench_seed: fills a SQLite data dir with already-delivered messages"};
  app.add_option("--data-dir", o.data_dir, "data directory (as for ferry serve --data-dir)")->required();
  app.add_option("--messages", o.messages, "messages to add")
      ->required()
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'000'000'000}));
  app.add_option("--workspace", o.workspace, "workspace of the messages, created if missing")->capture_default_str();
  app.add_option("--endpoint-id", o.endpoint_id,
                 "endpoint of their deliveries, created if missing (default: the workspace's first endpoint, or a "
                 "new one)");
  app.add_option("--endpoint-url", o.endpoint_url, "URL of an endpoint created here")->capture_default_str();
  app.add_option("--batch", o.batch, "messages per transaction")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1'000'000}))
      ->capture_default_str();
  app.add_option("--payload-bytes", o.payload_bytes, "approximate size of each message's data")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--days", o.days, "spread the messages over the last D days")
      ->check(CLI::Range(0.0, 29.0))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::error_code ec;
  std::filesystem::create_directories(o.data_dir, ec);
  if (ec) {
    std::cerr << "ferry_bench_seed: cannot create " << o.data_dir << ": " << ec.message() << '\n';
    return 1;
  }
  ferry::StoreLocation location;
  location.data_dir = o.data_dir;
  auto store = must(ferry::open_store(location), "cannot open the store in " + o.data_dir);

  const ferry::SystemClock clock;
  const ferry::UnixMillis now = clock.now_ms();
  if (auto workspace = store->get_workspace(o.workspace); !workspace) {
    if (workspace.error().code != ferry::ErrorCode::not_found) must(workspace.error(), "reading the workspace");
    ferry::Workspace w;
    w.id = o.workspace;
    w.name = "Benchmark";
    w.created_at_ms = w.updated_at_ms = now;
    must(store->create_workspace(w), "creating workspace " + o.workspace);
  }
  std::string endpoint_id = o.endpoint_id;
  if (endpoint_id.empty()) {
    ferry::PageRequest first_page;
    auto page = must(store->list_endpoints(o.workspace, first_page), "listing endpoints");
    if (!page.items.empty()) endpoint_id = page.items.front().id;
  }
  if (endpoint_id.empty() || !store->get_endpoint(o.workspace, endpoint_id)) {
    ferry::Endpoint e;
    e.id = endpoint_id.empty() ? ferry::new_id("ep", now) : endpoint_id;
    e.workspace_id = o.workspace;
    e.url = o.endpoint_url;
    e.description = "ferry_bench_seed";
    e.secrets = {ferry::generate_secret()};
    e.created_at_ms = e.updated_at_ms = now;
    endpoint_id = must(store->create_endpoint(e), "creating the endpoint").id;
  }

  const double span_ms = o.days * 86'400'000.0;
  const ferry::UnixMillis first_ms = now - static_cast<ferry::UnixMillis>(span_ms);
  Generator generator(o, endpoint_id, first_ms, o.messages > 0 ? span_ms / static_cast<double>(o.messages) : 0);
  // The next batch is generated on another thread while this one is imported.
  std::vector<ferry::MessageRecord> batch;
  std::vector<ferry::MessageRecord> next;
  auto fill = [&](std::vector<ferry::MessageRecord>& out, std::int64_t from) {
    generator.fill(out, from, std::min(o.batch, o.messages - from));
  };
  const auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  const bool on_terminal = isatty(STDERR_FILENO) != 0;
  if (o.messages > 0) fill(batch, 0);
  for (std::int64_t done = 0; done < o.messages;) {
    const auto count = static_cast<std::int64_t>(batch.size());
    std::future<void> generating;
    if (done + count < o.messages) generating = std::async(std::launch::async, fill, std::ref(next), done + count);
    must(store->import_messages(batch), "importing messages");
    if (generating.valid()) generating.get();
    batch.swap(next);
    done += count;
    const auto t = std::chrono::steady_clock::now();
    if (t - last_report >= std::chrono::seconds(2) || done == o.messages) {
      last_report = t;
      const double seconds = std::chrono::duration<double>(t - started).count();
      std::fprintf(stderr, "%sseeded %lld of %lld messages, %.0f/s", on_terminal ? "\r" : "",
                   static_cast<long long>(done), static_cast<long long>(o.messages),
                   seconds > 0 ? static_cast<double>(done) / seconds : 0.0);
      std::fputs(on_terminal && done < o.messages ? "" : "\n", stderr);
      std::fflush(stderr);
    }
  }
  store.reset();  // closes the database (and checkpoints the WAL)
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "{\"messages\":%lld,\"workspace\":\"%s\",\"endpoint_id\":\"%s\",\"seconds\":%.3f,\"rate\":%.1f,"
      "\"db_bytes\":%ju}\n",
      static_cast<long long>(o.messages), o.workspace.c_str(), endpoint_id.c_str(), seconds,
      seconds > 0 ? static_cast<double>(o.messages) / seconds : 0.0, database_bytes(o.data_dir));
  return 0;
}
