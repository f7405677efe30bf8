#pragma once

#include <cstddef>
#include <string>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/http_server.hpp"
#include "api/http_types.hpp"

namespace ferry {

// The socket-free steps of reading one request, shared by HttpServer's
// sessions and the HTTP fuzz target so the fuzzer exercises exactly what the
// server runs.

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Header fields per request, whatever their size (Apache's default): every
// field is a parsed, stored, looked-through entry.
inline constexpr std::size_t kMaxHeaderFields = 100;

// Applies the server's size limits to a fresh parser.
void apply_request_limits(RequestParser& parser, const HttpServer::Config& config);

// True when a parsed header has more fields than kMaxHeaderFields (431).
bool has_too_many_header_fields(const RequestParser& parser);

// The handler's view of a parsed request: path and query split, field names
// lowercased; the body is moved out of `parser`.
HttpRequest to_http_request(RequestParser& parser, std::string remote_address);

}  // namespace ferry
