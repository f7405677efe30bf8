#include "cli/serve_settings.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "core/duration.hpp"

namespace ferry {

const std::vector<SettingSpec>& serve_setting_specs() {
  static const std::vector<SettingSpec> specs = {
      {"listen", "HOST:PORT to serve the API on ([::1]:PORT for IPv6)", "127.0.0.1:8080"},
      {"data-dir", "directory of the SQLite database and local files", "./data"},
      {"admin-token", "admin bearer token (generated and kept in DATA_DIR/admin-token if empty)", ""},
      {"database", "postgresql://USER@HOST:PORT/DB to share one database between nodes; empty for SQLite in --data-dir",
       ""},
      {"database-pool", "PostgreSQL connections each node may hold", "8"},
      {"lease-timeout",
       "how long a node's claim on a delivery lasts; a dead node's work is taken over after this (> request-timeout)",
       "60s"},
      {"retention-days", "messages, deliveries and attempts older than this are removed", "30"},
      {"allow-targets", "CIDR[,CIDR...] that deliveries may reach although refused by default (loopback, private...)",
       ""},
      {"time-factor", "multiplies every scheduled retry delay (tests use 0.001)", "1"},
      {"retry-schedule", "delay before each attempt, comma-separated; its length is the attempt count",
       "0s,5s,5m,30m,2h,5h,10h,10h"},
      {"retry-after-cap", "longest Retry-After honoured on 429/503", "1h"},
      {"request-timeout", "total time allowed for one delivery attempt", "15s"},
      {"connect-timeout", "time allowed to connect to an endpoint", "5s"},
      {"endpoint-concurrency", "attempts in flight per endpoint", "8"},
      {"max-in-flight", "attempts in flight in total", "1024"},
      {"max-response-body-bytes", "bytes of an endpoint's response body kept with the attempt", "65536"},
      {"max-body-bytes", "largest API request body (413 beyond)", "1048576"},
      {"max-header-bytes", "largest API request header block (431 beyond)", "16384"},
      {"idle-timeout", "keep-alive connection closed after this long without a request", "60s"},
      {"read-timeout", "time allowed to receive a whole request once it started", "10s"},
      {"shutdown-grace", "on SIGTERM, time allowed for requests and attempts in flight", "10s"},
      {"http-threads", "network threads of the API server", "2"},
      {"api-workers", "threads running API handlers", "4"},
      {"api-rate-limit", "API requests per second each workspace API key may make (429 beyond; 0: unlimited)", "1000"},
      {"admin-rate-limit", "API requests per second the admin token may make (429 beyond; 0: unlimited)", "0"},
      {"log-level", "trace, debug, info, warn, error", "info"},
      {"log-format", "text or json", "text"},
      {"verify-tls", "verify endpoints' TLS certificates", "true"},
      {"tls-ca-file", "CA bundle for verifying endpoints (empty: the system's)", ""},
      {"catalog", "catalog file to load at start (docs/catalogs.md); repeat, or separate with commas", ""},
      {"profile-file", "custom wire profile file to load at start (docs/profiles.md); repeat, or comma-separate", ""},
  };
  return specs;
}

Result<std::map<std::string, std::string>> read_settings_file(const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    std::ostringstream message;
    message << "config file " << path << ": " << error.description() << " at line " << error.source().begin.line;
    return make_error(ErrorCode::bad_request, message.str());
  }
  std::map<std::string, std::string> texts;
  for (const auto& [key, node] : table) {
    std::string name(key.str());
    for (auto& c : name) c = c == '_' ? '-' : c;
    bool known = false;
    for (const auto& spec : serve_setting_specs()) known = known || spec.name == name;
    if (!known)
      return make_error(ErrorCode::bad_request,
                        "config file " + path + ": unknown setting \"" + std::string(key.str()) + "\"");
    if (auto text = node.value<std::string>())
      texts[name] = *text;
    else if (auto integer = node.value<std::int64_t>())
      texts[name] = std::to_string(*integer);
    else if (auto number = node.value<double>())
      texts[name] = std::to_string(*number);
    else if (auto flag = node.value<bool>())
      texts[name] = *flag ? "true" : "false";
    else if (const auto* array = node.as_array()) {
      std::string joined;
      for (const auto& item : *array) {
        auto value = item.value<std::string>();
        if (!value)
          return make_error(ErrorCode::bad_request,
                            "config file " + path + ": \"" + std::string(key.str()) + "\" must hold strings");
        joined += (joined.empty() ? "" : ",") + *value;
      }
      texts[name] = joined;
    } else {
      return make_error(ErrorCode::bad_request,
                        "config file " + path + ": \"" + std::string(key.str()) + "\" has an unsupported type");
    }
  }
  return texts;
}

namespace {

Error bad(const std::string& name, const std::string& what) {
  return make_error(ErrorCode::bad_request, "--" + name + ": " + what);
}

template <class Integer>
Result<Integer> to_integer(const std::string& name, const std::string& text, Integer min, Integer max) {
  Integer value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return bad(name, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return value;
}

// "a.json,b.json" (or one per line, as repeated flags arrive) as a list.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  auto flush = [&] {
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    if (first != std::string::npos) items.push_back(item.substr(first, last - first + 1));
    item.clear();
  };
  for (char c : text) {
    if (c == ',' || c == '\n')
      flush();
    else
      item += c;
  }
  flush();
  return items;
}

Result<std::chrono::milliseconds> to_duration(const std::string& name, const std::string& text) {
  auto value = parse_duration(text);
  if (!value) return bad(name, "must be a duration such as 500ms, 5s, 5m or 2h");
  return *value;
}

}  // namespace

Result<ListenAddress> parse_listen_address(const std::string& flag, const std::string& text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos) return bad(flag, "must be HOST:PORT");
  ListenAddress address;
  address.host = text.substr(0, colon);
  if (address.host.size() >= 2 && address.host.front() == '[' && address.host.back() == ']') {
    address.host = address.host.substr(1, address.host.size() - 2);
  }
  if (address.host.empty()) address.host = "0.0.0.0";
  auto port = to_integer<std::uint16_t>(flag, text.substr(colon + 1), 0, 65535);
  if (!port) return port.error();
  address.port = *port;
  return address;
}

Result<ServeSettings> parse_serve_settings(const std::map<std::string, std::string>& texts) {
  ServeSettings settings;
  auto text = [&](const std::string& name) -> std::string {
    auto it = texts.find(name);
    if (it != texts.end()) return it->second;
    for (const auto& spec : serve_setting_specs()) {
      if (spec.name == name) return spec.default_value;
    }
    return {};
  };

  auto listen = parse_listen_address("listen", text("listen"));
  if (!listen) return listen.error();
  settings.listen_host = std::move(listen->host);
  settings.listen_port = listen->port;

  settings.data_dir = text("data-dir");
  if (settings.data_dir.empty()) return bad("data-dir", "must not be empty");
  settings.admin_token = text("admin-token");
  settings.database = text("database");
  settings.allow_targets = text("allow-targets");

  const std::string factor = text("time-factor");
  try {
    std::size_t used = 0;
    settings.retry.time_factor = std::stod(factor, &used);
    if (used != factor.size() || settings.retry.time_factor < 0 || settings.retry.time_factor > 1000)
      throw std::out_of_range("");
  } catch (const std::exception&) {
    return bad("time-factor", "must be a number from 0 to 1000");
  }
  auto schedule = parse_duration_list(text("retry-schedule"));
  if (!schedule || schedule->empty() || schedule->size() > 50) {
    return bad("retry-schedule", "must be 1 to 50 comma-separated durations such as 0s,5s,5m");
  }
  settings.retry.schedule = *schedule;

  struct DurationSetting {
    const char* name;
    std::chrono::milliseconds* target;
  };
  for (auto [name, target] : {DurationSetting{"retry-after-cap", &settings.retry.retry_after_cap},
                              DurationSetting{"request-timeout", &settings.request_timeout},
                              DurationSetting{"connect-timeout", &settings.connect_timeout},
                              DurationSetting{"idle-timeout", &settings.idle_timeout},
                              DurationSetting{"read-timeout", &settings.read_timeout},
                              DurationSetting{"shutdown-grace", &settings.shutdown_grace},
                              DurationSetting{"lease-timeout", &settings.lease_timeout}}) {
    auto value = to_duration(name, text(name));
    if (!value) return value.error();
    *target = *value;
  }
  if (settings.request_timeout.count() < 1) return bad("request-timeout", "must be positive");
  // Room to record the outcome before the lease runs out (see Scheduler).
  if (settings.lease_timeout < settings.request_timeout + std::chrono::seconds(3)) {
    return bad("lease-timeout", "must exceed request-timeout by at least 3s");
  }

  struct IntSetting {
    const char* name;
    int* target;
    int min;
    int max;
  };
  for (auto [name, target, min, max] : {IntSetting{"endpoint-concurrency", &settings.endpoint_concurrency, 1, 1000},
                                        IntSetting{"max-in-flight", &settings.max_in_flight, 1, 100000},
                                        IntSetting{"http-threads", &settings.http_threads, 1, 64},
                                        IntSetting{"api-workers", &settings.api_workers, 1, 256},
                                        IntSetting{"api-rate-limit", &settings.api_rate_limit, 0, 1'000'000},
                                        IntSetting{"admin-rate-limit", &settings.admin_rate_limit, 0, 1'000'000},
                                        IntSetting{"database-pool", &settings.database_pool, 1, 1000},
                                        IntSetting{"retention-days", &settings.retention_days, 1, 36500}}) {
    auto value = to_integer<int>(name, text(name), min, max);
    if (!value) return value.error();
    *target = *value;
  }
  struct SizeSetting {
    const char* name;
    std::size_t* target;
    std::size_t min;
    std::size_t max;
  };
  for (auto [name, target, min, max] :
       {SizeSetting{"max-response-body-bytes", &settings.max_response_body_bytes, 0, 16u << 20},
        SizeSetting{"max-body-bytes", &settings.max_body_bytes, 1024, 256u << 20},
        SizeSetting{"max-header-bytes", &settings.max_header_bytes, 1024, 1u << 20}}) {
    auto value = to_integer<std::size_t>(name, text(name), min, max);
    if (!value) return value.error();
    *target = *value;
  }

  settings.log_level = text("log-level");
  static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), settings.log_level) == kLevels.end()) {
    return bad("log-level", "must be one of trace, debug, info, warn, error, critical, off");
  }
  settings.log_format = text("log-format");
  if (settings.log_format != "text" && settings.log_format != "json") return bad("log-format", "must be text or json");
  const std::string verify = text("verify-tls");
  if (verify != "true" && verify != "false") return bad("verify-tls", "must be true or false");
  settings.verify_tls = verify == "true";
  settings.tls_ca_file = text("tls-ca-file");
  settings.catalog_files = split_list(text("catalog"));
  settings.profile_files = split_list(text("profile-file"));
  return settings;
}

}  // namespace ferry
