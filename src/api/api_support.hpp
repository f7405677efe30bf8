#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "api/http_types.hpp"
#include "api/router.hpp"
#include "core/page.hpp"
#include "core/result.hpp"

namespace ferry {

// Shared pieces of every route handler: JSON bodies in, JSON responses out.

int http_status_of(ErrorCode code);
HttpResponse json_response(int status, const nlohmann::json& body);
HttpResponse error_response(int status, std::string_view code, std::string_view message);
HttpResponse error_response(const Error& error);
// 405 for a path that exists with other methods.
HttpResponse method_not_allowed(std::string_view method);
HttpResponse no_content();

// The request body as a JSON object: 400 when it is not JSON, 422 when it is
// not an object.
Result<nlohmann::json> json_object_body(const HttpRequest& request);

// A query parameter, percent-decoded, if present.
std::optional<std::string> query_param(std::string_view query, std::string_view name);
// `limit` (1..1000, default 50) and `cursor` from the query string.
Result<PageRequest> page_request(std::string_view query);

// Typed field readers: a missing optional field is nullopt; a field of the
// wrong type is unprocessable, naming it.
Result<std::optional<std::string>> optional_string(const nlohmann::json& object, const char* field);
Result<std::string> required_string(const nlohmann::json& object, const char* field);
Result<std::optional<bool>> optional_bool(const nlohmann::json& object, const char* field);

// Responds with the error, or with `status` and the JSON of the value.
template <class T, class ToJson>
void respond_with(ApiCall& call, const Result<T>& result, int status, ToJson to_json_function) {
  if (!result) {
    call.respond(error_response(result.error()));
    return;
  }
  call.respond(json_response(status, to_json_function(*result)));
}

}  // namespace ferry
