#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace ferry {

// Where the client commands find the server and how they sign in. Flags win
// over the environment (FERRY_URL, FERRY_TOKEN); without a token, the admin
// token a local `ferry serve` generated in DATA_DIR/admin-token is used.
struct ServerAccess {
  std::string url = "http://127.0.0.1:8080";
  std::string token;
  std::string data_dir = "./data";
};

struct ApiAnswer {
  long status = 0;
  nlohmann::json body;  // null when the answer had no JSON body
};

// A small blocking client of Ferry's HTTP API for the CLI. Errors come back as
// values: `unavailable` when the server cannot be reached, the server's own
// code and message for an answer outside 2xx.
class ApiClient {
 public:
  // Fails with bad_request when no token can be found.
  static Result<ApiClient> connect(const ServerAccess& access);

  ApiClient(ApiClient&&) noexcept;
  ApiClient& operator=(ApiClient&&) noexcept;
  ~ApiClient();

  // `path` starts with "/api/…"; `body` is sent as JSON when not null.
  Result<ApiAnswer> call(std::string_view method, std::string_view path, const nlohmann::json& body = nullptr,
                         const std::vector<std::pair<std::string, std::string>>& headers = {});

  const std::string& base_url() const { return base_url_; }

 private:
  struct Handle;
  ApiClient(std::string base_url, std::string token);

  std::string base_url_;
  std::string token_;
  std::unique_ptr<Handle> handle_;  // one connection, kept alive between calls
};

// "%2F"-style escaping of one path segment (ids are safe already; names of
// event types and user input may not be).
std::string escape_path_segment(std::string_view segment);

// A libcurl CURLOPT_WRITEFUNCTION that appends the bytes to the std::string
// given as CURLOPT_WRITEDATA.
std::size_t append_to_string(char* data, std::size_t size, std::size_t count, void* out);

}  // namespace ferry
