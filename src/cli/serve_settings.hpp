#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/retry_policy.hpp"

namespace ferry {

// Every setting of `ferry serve`, typed and validated. Each can be given as
// a flag (--request-timeout), a FERRY_* environment variable
// (FERRY_REQUEST_TIMEOUT) or a key of the TOML file (request_timeout);
// flags win over the environment, which wins over the file.
struct ServeSettings {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string data_dir = "./data";
  std::string admin_token;
  std::string database;
  int database_pool = 8;
  // How long a node's claim on a delivery lasts; a dead node's work is taken
  // over by the others after this. Longer than request_timeout.
  std::chrono::milliseconds lease_timeout{60000};
  int retention_days = 30;
  std::string allow_targets;
  RetryPolicy retry;
  std::chrono::milliseconds request_timeout{15000};
  std::chrono::milliseconds connect_timeout{5000};
  int endpoint_concurrency = 8;
  int max_in_flight = 1024;
  std::size_t max_response_body_bytes = 64 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds shutdown_grace{10000};
  int http_threads = 2;
  int api_workers = 4;
  int api_rate_limit = 1000;  // requests/s per workspace API key; 0: unlimited
  int admin_rate_limit = 0;   // requests/s for the admin token; 0: unlimited
  std::string log_level = "info";
  std::string log_format = "text";
  bool verify_tls = true;
  std::string tls_ca_file;
  // Catalogs (catalogs/*.json) and custom wire profiles to load at start.
  std::vector<std::string> catalog_files;
  std::vector<std::string> profile_files;
};

// One setting as text, before it is typed.
struct SettingSpec {
  std::string name;  // flag name without "--"
  std::string help;
  std::string default_value;
};

const std::vector<SettingSpec>& serve_setting_specs();

// Reads a TOML file into setting texts; unknown keys are an error.
Result<std::map<std::string, std::string>> read_settings_file(const std::string& path);

struct ListenAddress {
  std::string host;  // brackets of an IPv6 literal removed; "" given as HOST means 0.0.0.0
  std::uint16_t port = 0;
};

// "HOST:PORT" ("[::1]:PORT" for IPv6) as given to --listen; errors name `flag`.
Result<ListenAddress> parse_listen_address(const std::string& flag, const std::string& text);

// Types and validates the texts; errors name the setting.
Result<ServeSettings> parse_serve_settings(const std::map<std::string, std::string>& texts);

}  // namespace ferry
