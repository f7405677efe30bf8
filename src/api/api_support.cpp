#include "api/api_support.hpp"

#include <charconv>

#include "core/json_limits.hpp"

namespace ferry {

int http_status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::bad_request: return 400;
    case ErrorCode::unauthorized: return 401;
    case ErrorCode::forbidden: return 403;
    case ErrorCode::not_found: return 404;
    case ErrorCode::conflict: return 409;
    case ErrorCode::payload_too_large: return 413;
    case ErrorCode::unprocessable:
    case ErrorCode::schema_violation:
    case ErrorCode::unknown_event_type: return 422;
    case ErrorCode::too_many_requests: return 429;
    case ErrorCode::unavailable: return 503;
    case ErrorCode::internal: return 500;
  }
  return 500;
}

HttpResponse json_response(int status, const nlohmann::json& body) {
  HttpResponse response;
  response.status = status;
  // Receivers' bytes (response bodies, headers) may be invalid UTF-8: replace, never throw.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

HttpResponse error_response(int status, std::string_view code, std::string_view message) {
  return json_response(status, {{"error", {{"code", code}, {"message", message}}}});
}

HttpResponse method_not_allowed(std::string_view method) {
  return error_response(405, kMethodNotAllowedCode, "method " + std::string(method) + " not allowed on this path");
}

HttpResponse error_response(const Error& error) {
  nlohmann::json body = {{"code", error_code_name(error.code)}, {"message", error.message}};
  if (!error.path.empty()) body["path"] = error.path;
  return json_response(http_status_of(error.code), {{"error", std::move(body)}});
}

HttpResponse no_content() {
  HttpResponse response;
  response.status = 204;
  response.content_type.clear();
  return response;
}

Result<nlohmann::json> json_object_body(const HttpRequest& request) {
  // The body is judged by what it is, not by its Content-Type: `curl -d`
  // labels JSON as a form, and refusing that helps nobody.
  if (json_deeper_than(request.body, kMaxJsonDepth))
    return make_error(ErrorCode::unprocessable, json_too_deep_message());
  auto parsed = nlohmann::json::parse(request.body, nullptr, false);
  if (parsed.is_discarded()) return make_error(ErrorCode::bad_request, "request body is not valid JSON");
  if (!parsed.is_object()) return make_error(ErrorCode::unprocessable, "request body must be a JSON object");
  return parsed;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq), true) == name) {
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

Result<PageRequest> page_request(std::string_view query) {
  PageRequest page;
  if (auto limit = query_param(query, "limit")) {
    int value = 0;
    auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), value);
    if (ec != std::errc() || end != limit->data() + limit->size() || value < 1 || value > 1000) {
      return make_error(ErrorCode::bad_request, "limit must be an integer from 1 to 1000");
    }
    page.limit = value;
  }
  if (auto cursor = query_param(query, "cursor")) page.cursor = std::move(*cursor);
  return page;
}

Result<std::optional<std::string>> optional_string(const nlohmann::json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return make_error(ErrorCode::unprocessable, std::string("\"") + field + "\" must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::string> required_string(const nlohmann::json& object, const char* field) {
  auto value = optional_string(object, field);
  if (!value) return value.error();
  if (!*value) return make_error(ErrorCode::unprocessable, std::string("\"") + field + "\" is required");
  return std::move(**value);
}

Result<std::optional<bool>> optional_bool(const nlohmann::json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean())
    return make_error(ErrorCode::unprocessable, std::string("\"") + field + "\" must be a boolean");
  return std::optional<bool>(it->get<bool>());
}

}  // namespace ferry
