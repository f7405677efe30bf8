#include "api/metrics_route.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "api/api_services.hpp"

namespace ferry {

namespace {

// Each of the two counts of open deliveries stops here: a scrape walks at
// most twice this many index entries, whatever the store holds.
constexpr std::int64_t kOpenDeliveriesLimit = 100000;
// /metrics needs no token: however often it is asked, the store is counted
// at most this often.
constexpr std::chrono::seconds kOpenDeliveriesRefresh{1};

class OpenDeliveriesProbe {
 public:
  // The counts as last read, read again when older than the refresh
  // interval; none when that read failed.
  std::optional<OpenDeliveryCounts> read(Store& store, const Clock& clock) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (read_at_ && now - *read_at_ < kOpenDeliveriesRefresh) return counts_;
    read_at_ = now;
    auto counts = store.count_open_deliveries(clock.now_ms(), kOpenDeliveriesLimit);
    if (!counts) {
      spdlog::warn("metrics: cannot count open deliveries: {}", counts.error().message);
      counts_.reset();
    } else {
      counts_ = *counts;
    }
    return counts_;
  }

 private:
  std::mutex mutex_;
  std::optional<std::chrono::steady_clock::time_point> read_at_;
  std::optional<OpenDeliveryCounts> counts_;
};

struct ProcessFigures {
  std::optional<double> cpu_seconds;
  std::optional<double> start_time_seconds;
  std::optional<double> virtual_bytes;
  std::optional<double> resident_bytes;
  std::optional<double> open_fds;
  std::optional<double> max_fds;
};

// Boot time (seconds since the epoch) from /proc/stat's btime; read once.
std::optional<double> boot_time() {
  static const std::optional<double> value = []() -> std::optional<double> {
    std::ifstream in("/proc/stat");
    std::string key;
    double seconds = 0;
    while (in >> key) {
      if (key == "btime" && in >> seconds) return seconds;
      in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return std::nullopt;
  }();
  return value;
}

// What Linux tells of this process; whatever cannot be read stays unset.
ProcessFigures process_figures() {
  ProcessFigures figures;
  std::ifstream stat_file("/proc/self/stat");
  std::string stat;
  std::getline(stat_file, stat);
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // fields are counted from the last ')'; the token after it is field 3.
  const auto close = stat.rfind(')');
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (close != std::string::npos && ticks > 0 && page > 0) {
    std::istringstream fields(stat.substr(close + 1));
    std::vector<std::string> tokens;
    for (std::string token; fields >> token;) tokens.push_back(token);
    const auto field = [&](std::size_t number) -> std::optional<double> {
      if (number < 3 || number - 3 >= tokens.size()) return std::nullopt;
      try {
        return std::stod(tokens[number - 3]);
      } catch (const std::exception&) {
        return std::nullopt;
      }
    };
    const auto utime = field(14);
    const auto stime = field(15);
    if (utime && stime) figures.cpu_seconds = (*utime + *stime) / static_cast<double>(ticks);
    if (const auto start = field(22); start && boot_time()) {
      figures.start_time_seconds = *boot_time() + *start / static_cast<double>(ticks);
    }
    figures.virtual_bytes = field(23);
    if (const auto rss = field(24)) figures.resident_bytes = *rss * static_cast<double>(page);
  }
  std::error_code ec;
  double fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
  if (!ec) figures.open_fds = fds;
  if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    figures.max_fds = static_cast<double>(limit.rlim_cur);
  }
  return figures;
}

void write_process_figures(prometheus::Writer& out) {
  const ProcessFigures figures = process_figures();
  const auto one = [&out](const char* name, const char* type, const char* help, const std::optional<double>& value) {
    if (!value) return;
    out.family(name, type, help);
    out.sample(name, {}, *value);
  };
  one("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.", figures.cpu_seconds);
  one("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.",
      figures.start_time_seconds);
  one("process_virtual_memory_bytes", "gauge", "Virtual memory size, in bytes.", figures.virtual_bytes);
  one("process_resident_memory_bytes", "gauge", "Resident memory size, in bytes.", figures.resident_bytes);
  one("process_open_fds", "gauge", "Open file descriptors.", figures.open_fds);
  one("process_max_fds", "gauge", "Limit of open file descriptors.", figures.max_fds);
}

}  // namespace

RouteHandler metrics_route(const ApiServices& services) {
  auto probe = std::make_shared<OpenDeliveriesProbe>();
  return [&services, probe](ApiCall& call) {
    services.metrics.retain_endpoints([&services](const std::string& workspace_id, const std::string& endpoint_id) {
      const auto workspace = services.subscriptions.workspace(workspace_id);
      return workspace && workspace->find(endpoint_id) != nullptr;
    });
    prometheus::Writer out;
    services.metrics.render(out);
    if (const auto open = probe->read(services.store, services.clock)) {
      out.family("ferry_deliveries_pending", "gauge",
                 "Open deliveries in the store (all nodes'), by whether their next attempt is due now or later; "
                 "each counted up to 100000.");
      out.sample("ferry_deliveries_pending", {{"due", "now"}}, open->due);
      out.sample("ferry_deliveries_pending", {{"due", "later"}}, open->later);
    }
    out.family("ferry_build_info", "gauge", "Always 1; the labels name the build.");
    out.sample("ferry_build_info", {{"version", services.version}}, std::int64_t{1});
    write_process_figures(out);
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = std::move(out.text());
    call.respond(std::move(response));
  };
}

}  // namespace ferry
