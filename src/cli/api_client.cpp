#include "cli/api_client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>

namespace ferry {

namespace {

constexpr long kConnectTimeoutMs = 5'000;
constexpr long kRequestTimeoutMs = 60'000;

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::string read_token_file(const std::string& data_dir) {
  std::ifstream in(data_dir + "/admin-token");
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  return trim(text.str());
}

// The server's error code name back to the code, so callers can tell a
// missing object from a refusal.
ErrorCode code_named(const std::string& name) {
  for (int value = 0; value <= static_cast<int>(ErrorCode::internal); ++value) {
    const auto code = static_cast<ErrorCode>(value);
    if (name == error_code_name(code)) return code;
  }
  return ErrorCode::internal;
}

}  // namespace

struct ApiClient::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

ApiClient::ApiClient(std::string base_url, std::string token)
    : base_url_(std::move(base_url)), token_(std::move(token)), handle_(std::make_unique<Handle>()) {}
ApiClient::ApiClient(ApiClient&&) noexcept = default;
ApiClient& ApiClient::operator=(ApiClient&&) noexcept = default;
ApiClient::~ApiClient() = default;

Result<ApiClient> ApiClient::connect(const ServerAccess& access) {
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::string token = access.token.empty() ? read_token_file(access.data_dir) : access.token;
  if (token.empty()) {
    return make_error(ErrorCode::bad_request, "no API token: give --token (or FERRY_TOKEN), or run where " +
                                                  access.data_dir + "/admin-token of a local server is");
  }
  std::string url = access.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return make_error(ErrorCode::bad_request, "--url must start with http:// or https://, got \"" + access.url + "\"");
  }
  ApiClient client(std::move(url), std::move(token));
  client.handle_->curl = curl_easy_init();
  if (client.handle_->curl == nullptr) return make_error(ErrorCode::internal, "cannot start libcurl");
  return client;
}

Result<ApiAnswer> ApiClient::call(std::string_view method, std::string_view path, const nlohmann::json& body,
                                  const std::vector<std::pair<std::string, std::string>>& headers) {
  CURL* curl = handle_->curl;
  curl_easy_reset(curl);
  const std::string url = base_url_ + std::string(path);
  const std::string method_text(method);
  std::string request_body = body.is_null() ? std::string() : body.dump();
  std::string response_body;

  curl_slist* list = nullptr;
  const std::string authorization = "Authorization: Bearer " + token_;
  list = curl_slist_append(list, authorization.c_str());
  list = curl_slist_append(list, "Accept: application/json");
  if (!body.is_null()) list = curl_slist_append(list, "Content-Type: application/json");
  for (const auto& [name, value] : headers) list = curl_slist_append(list, (name + ": " + value).c_str());

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_text.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, kRequestTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_to_string);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response_body);
  if (!body.is_null()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request_body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_body.size()));
  } else if (method_text == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  }
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    return make_error(ErrorCode::unavailable,
                      "cannot reach Ferry at " + base_url_ + ": " + std::string(curl_easy_strerror(rc)));
  }
  ApiAnswer answer;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  if (!response_body.empty()) {
    answer.body = nlohmann::json::parse(response_body, nullptr, /*allow_exceptions=*/false);
    if (answer.body.is_discarded()) answer.body = nullptr;
  }
  if (answer.status >= 200 && answer.status < 300) return answer;
  const auto* error = answer.body.is_object() && answer.body.contains("error") ? &answer.body["error"] : nullptr;
  if (error != nullptr && error->is_object()) {
    const std::string code = error->value("code", "");
    return make_error(code_named(code),
                      error->value("message", code) + " (HTTP " + std::to_string(answer.status) + ")");
  }
  return make_error(ErrorCode::internal,
                    method_text + " " + std::string(path) + " answered HTTP " + std::to_string(answer.status));
}

std::size_t append_to_string(char* data, std::size_t size, std::size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

std::string escape_path_segment(std::string_view segment) {
  std::string out;
  for (const char c : segment) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", u);
      out += escaped;
    }
  }
  return out;
}

}  // namespace ferry
