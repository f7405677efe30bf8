// Fuzzes HTTP request handling and routing: the input is the byte stream a
// client sends on one connection. It is read with Boost.Beast's request
// parser under the server's own limits (HttpServer::Config's defaults for
// max_header_bytes and max_body_bytes), one request after another as long as
// they keep the connection alive (pipelining), refused beyond the server's
// count of header fields, each turned into an HttpRequest and handed to a
// Router holding routes shaped like the real ones (src/api/*_routes.cpp),
// whose handlers use the real api_support helpers and publish parser. The
// limits, the header-count check and the conversion are the server's own
// (api/http_request_reading.hpp), not copies.
//
// Invariants: nothing throws or crashes; a request that parses respects the
// limits; the router's captures are non-empty and percent-decoded; every
// response has a status of 200..599 and a JSON body.

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "api/api_support.hpp"
#include "api/http_request_reading.hpp"
#include "api/http_server.hpp"
#include "api/http_types.hpp"
#include "api/router.hpp"
#include "core/time_format.hpp"
#include "fuzz_check.hpp"
#include "ingest/publish_parser.hpp"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using beast::error_code;
using ferry::Access;
using ferry::ApiCall;
using ferry::HttpRequest;
using ferry::HttpResponse;

// A connection's incoming bytes, delivered `chunk` bytes per read (as the
// network might split them), then end of stream.
class InputStream {
 public:
  InputStream(std::string_view bytes, std::size_t chunk) : bytes_(bytes), chunk_(chunk) {}

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, error_code& ec) {
    ec = {};
    if (bytes_.empty()) {
      ec = net::error::eof;
      return 0;
    }
    const std::size_t n = net::buffer_copy(buffers, net::buffer(bytes_.data(), std::min(chunk_, bytes_.size())));
    bytes_.remove_prefix(n);
    return n;
  }

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  std::string_view bytes_;
  std::size_t chunk_;
};

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void respond_error(ApiCall& call, const ferry::Error& error) { call.respond(ferry::error_response(error)); }

void list_page(ApiCall& call) {
  auto page = ferry::page_request(call.request.query);
  if (!page) return respond_error(call, page.error());
  FUZZ_CHECK(page->limit >= 1 && page->limit <= 1000);
  nlohmann::json body = {{"limit", page->limit}, {"cursor", page->cursor}};
  for (const char* name : {"since", "until"}) {
    if (auto text = ferry::query_param(call.request.query, name)) {
      auto time = ferry::parse_time(*text);
      if (!time) return call.respond(ferry::error_response(400, "bad_request", std::string(name) + " is not a time"));
      body[name] = *time;
    }
  }
  if (auto type = ferry::query_param(call.request.query, "type")) body["type"] = *type;
  call.respond(ferry::json_response(200, body));
}

void create_from_body(ApiCall& call, const char* required_field) {
  auto body = ferry::json_object_body(call.request);
  if (!body) return respond_error(call, body.error());
  auto name = ferry::required_string(*body, required_field);
  if (!name) return respond_error(call, name.error());
  auto description = ferry::optional_string(*body, "description");
  if (!description) return respond_error(call, description.error());
  auto enabled = ferry::optional_bool(*body, "enabled");
  if (!enabled) return respond_error(call, enabled.error());
  call.respond(ferry::json_response(201, {{"name", *name}, {"params", call.params.values.size()}}));
}

void publish(ApiCall& call) {
  auto parsed = ferry::parse_publish_body(call.request.body);
  if (!parsed) return respond_error(call, parsed.error());
  if (auto key = call.request.header("idempotency-key")) {
    if (key->empty() || key->size() > 256) {
      return call.respond(ferry::error_response(422, "unprocessable", "Idempotency-Key must be 1 to 256 characters"));
    }
  }
  call.respond(ferry::json_response(202, {{"type", parsed->type}, {"workspace", call.params["ws"]}}));
}

void publish_batch(ApiCall& call) {
  auto parsed = ferry::parse_batch_body(call.request.body);
  if (!parsed) return respond_error(call, parsed.error());
  call.respond(ferry::json_response(202, {{"count", parsed->size()}}));
}

void show(ApiCall& call) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [name, value] : call.params.values) params[name] = value;
  call.respond(ferry::json_response(200, params));
}

const ferry::Router& router() {
  static const ferry::Router instance = [] {
    ferry::Router r;
    r.add("GET", "/healthz", Access::open, [](ApiCall& call) {
      call.respond(ferry::json_response(200, {{"status", "ok"}}));
    });
    r.add("GET", "/api/v1/profiles", Access::any, show);
    r.add("GET", "/api/v1/catalogs/{name}", Access::any, show);
    r.add("POST", "/api/v1/event-types", Access::admin, [](ApiCall& call) { create_from_body(call, "name"); });
    r.add("GET", "/api/v1/event-types/{name}", Access::any, show);
    r.add("PATCH", "/api/v1/event-types/{name}", Access::admin, [](ApiCall& call) { create_from_body(call, "name"); });
    r.add("DELETE", "/api/v1/event-types/{name}", Access::admin,
          [](ApiCall& call) { call.respond(ferry::no_content()); });
    r.add("POST", "/api/v1/workspaces", Access::admin, [](ApiCall& call) { create_from_body(call, "name"); });
    r.add("GET", "/api/v1/workspaces", Access::any, list_page);
    r.add("GET", "/api/v1/workspaces/{ws}", Access::workspace, show);
    r.add("PATCH", "/api/v1/workspaces/{ws}", Access::workspace, [](ApiCall& call) { create_from_body(call, "name"); });
    r.add("DELETE", "/api/v1/workspaces/{ws}/api-keys/{key}", Access::admin, show);
    const std::string endpoints = "/api/v1/workspaces/{ws}/endpoints";
    r.add("POST", endpoints, Access::workspace, [](ApiCall& call) { create_from_body(call, "url"); });
    r.add("GET", endpoints, Access::workspace, list_page);
    r.add("GET", endpoints + "/{ep}", Access::workspace, show);
    r.add("POST", endpoints + "/{ep}/secret/rotate", Access::workspace, show);
    r.add("GET", endpoints + "/{ep}/deliveries", Access::workspace, list_page);
    const std::string messages = "/api/v1/workspaces/{ws}/messages";
    r.add("POST", messages, Access::workspace, publish);
    r.add("POST", messages + "/batch", Access::workspace, publish_batch);
    r.add("GET", messages, Access::workspace, list_page);
    r.add("GET", messages + "/{msg}", Access::workspace, show);
    r.add("GET", messages + "/{msg}/attempts", Access::workspace, list_page);
    return r;
  }();
  return instance;
}

// The path's segments, percent-decoded as the router decodes captures.
std::vector<std::string> decoded_segments(std::string_view path) {
  std::vector<std::string> segments;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    segments.push_back(ferry::percent_decode(path.substr(0, slash), false));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

// Routes the request as ApiHandler::dispatch does (authentication aside).
HttpResponse route(HttpRequest request) {
  HttpResponse response;
  bool answered = false;
  auto respond = [&](HttpResponse r) {
    FUZZ_CHECK(!answered);  // exactly once
    answered = true;
    response = std::move(r);
  };
  auto matched = router().match(request.method, request.path);
  if (auto* miss = std::get_if<ferry::Router::Miss>(&matched)) {
    if (*miss == ferry::Router::Miss::method_not_allowed) {
      return ferry::method_not_allowed(request.method);
    }
    return ferry::error_response(404, "not_found", "no such route");
  }
  auto& match = std::get<ferry::Router::Match>(matched);
  FUZZ_CHECK(match.handler != nullptr);
  const auto segments = decoded_segments(request.path);
  for (const auto& [name, value] : match.params.values) {
    FUZZ_CHECK(name == "ws" || name == "ep" || name == "msg" || name == "name" || name == "key");
    FUZZ_CHECK(!value.empty());
    FUZZ_CHECK(std::find(segments.begin(), segments.end(), value) != segments.end());
  }
  ApiCall call{std::move(request), std::move(match.params), ferry::Caller{}, respond};
  (*match.handler)(call);
  FUZZ_CHECK(answered);
  return response;
}

void check_response(const HttpResponse& response) {
  FUZZ_CHECK(response.status >= 200 && response.status <= 599);
  if (response.status == 204) {
    FUZZ_CHECK(response.body.empty());
  } else {
    FUZZ_CHECK(response.content_type == "application/json");
    FUZZ_CHECK(nlohmann::json::accept(response.body));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  static const ferry::HttpServer::Config config;  // the server's default limits
  // How the network splits the stream varies with the input, so the parser
  // also sees requests arrive a few bytes at a time.
  const std::size_t chunk = size % 3 == 0 ? 4096 : 1 + size % 61;
  InputStream stream(bytes, chunk);
  beast::flat_buffer buffer;
  for (int requests = 0; requests < 16; ++requests) {
    ferry::RequestParser parser;
    ferry::apply_request_limits(parser, config);
    error_code ec;
    http::read_header(stream, buffer, parser, ec);
    // The server answers 431 and closes.
    if (!ec && ferry::has_too_many_header_fields(parser)) break;
    if (!ec && !parser.is_done()) http::read(stream, buffer, parser, ec);
    if (ec) {
      // Session::on_read_error: the limits give 413 and 431, other HTTP
      // errors 400, end of stream closes.
      FUZZ_CHECK(ec.category() == make_error_code(http::error::bad_method).category() || ec == net::error::eof);
      break;
    }
    FUZZ_CHECK(parser.is_done());
    FUZZ_CHECK(parser.get().body().size() <= config.max_body_bytes);
    const bool keep_alive = parser.get().keep_alive();
    HttpRequest request = ferry::to_http_request(parser, "127.0.0.1");
    FUZZ_CHECK(request.path.find('?') == std::string::npos);
    for (const auto& [name, value] : request.headers) FUZZ_CHECK(lowercase(name) == name);
    check_response(route(std::move(request)));
    if (!keep_alive) break;
  }
  return 0;
}
