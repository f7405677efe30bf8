#pragma once

// The PostgreSQL server the tests run against: FERRY_TEST_POSTGRES_URL, or
// the server whose directory FERRY_TEST_POSTGRES_DIR names (ctest sets it for
// the tests that require the fixture `postgres`, see tests/CMakeLists.txt).
// By hand:
//
//   scripts/postgres-test-server.sh start /tmp/ferry-pg   # prints the URL
//   FERRY_TEST_POSTGRES_URL=postgresql://... build/tests/ferry_unit_tests
//
// Without either the PostgreSQL tests fail; they never skip. Each test
// directory gets a database of its own, named after the directory, so
// reopening the same directory reaches the same data.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/result.hpp"
#include "store/postgres_connection.hpp"

namespace ferry {

inline Result<std::string> postgres_test_server_url() {
  if (const char* url = std::getenv("FERRY_TEST_POSTGRES_URL"); url != nullptr && *url != '\0') return std::string(url);
  if (const char* dir = std::getenv("FERRY_TEST_POSTGRES_DIR"); dir != nullptr && *dir != '\0') {
    // Written by scripts/postgres-test-server.sh when the server started.
    std::ifstream port_file(std::filesystem::path(dir) / "port");
    std::string port;
    if (!(port_file >> port)) {
      return make_error(ErrorCode::unavailable, std::string("no PostgreSQL test server in ") + dir +
                                                    " (FERRY_TEST_POSTGRES_DIR): did the fixture `postgres` "
                                                    "(test postgres.server.start) fail?");
    }
    return "postgresql://postgres@127.0.0.1:" + port + "/postgres";
  }
  return make_error(ErrorCode::unavailable,
                    "neither FERRY_TEST_POSTGRES_URL nor FERRY_TEST_POSTGRES_DIR is set: run the PostgreSQL tests "
                    "through ctest (fixture `postgres`), or start scripts/postgres-test-server.sh and export "
                    "FERRY_TEST_POSTGRES_URL with the URL it prints");
}

// `url` with its database replaced by `database`.
inline std::string postgres_url_with_database(const std::string& url, const std::string& database) {
  const auto scheme = url.find("://");
  const auto path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const auto query = url.find('?', path == std::string::npos ? 0 : path);
  const std::string base = url.substr(0, path == std::string::npos ? query : path);
  const std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + database + rest;
}

inline std::string postgres_test_database_name(const std::filesystem::path& dir) {
  std::uint64_t hash = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : dir.string()) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return std::string("ferry_test_") + hex;
}

// Creates the database of `dir` unless it exists; returns its URL.
inline Result<std::string> postgres_test_database(const std::filesystem::path& dir) {
  auto server = postgres_test_server_url();
  if (!server) return server.error();
  auto admin = PgConnection::connect(PgConnectOptions{*server});
  if (!admin) return admin.error();
  const std::string name = postgres_test_database_name(dir);
  PgParams params;
  params.text(name);
  auto found = (*admin)->query("SELECT 1 FROM pg_database WHERE datname = $1", params);
  if (!found) return found.error();
  if (found->rows() == 0) {
    // 42P04: created meanwhile by another connection, which is as good.
    if (auto created = (*admin)->script("CREATE DATABASE " + name); !created && (*admin)->last_sqlstate() != "42P04") {
      return created.error();
    }
  }
  return postgres_url_with_database(*server, name);
}

}  // namespace ferry
