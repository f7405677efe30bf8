#include "api/http_request_reading.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string_view>
#include <utility>

namespace ferry {

namespace {

std::size_t field_count(const RequestParser& parser) {
  const auto& req = parser.get();
  return static_cast<std::size_t>(std::distance(req.begin(), req.end()));
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

void apply_request_limits(RequestParser& parser, const HttpServer::Config& config) {
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(config.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser.body_limit(config.max_body_bytes);
}

bool has_too_many_header_fields(const RequestParser& parser) { return field_count(parser) > kMaxHeaderFields; }

HttpRequest to_http_request(RequestParser& parser, std::string remote_address) {
  auto& req = parser.get();
  HttpRequest request;
  request.method = std::string(req.method_string());
  const std::string_view target = req.target();
  const auto question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
  request.headers.reserve(field_count(parser));
  for (const auto& field : req) request.headers.emplace_back(lowercase(field.name_string()), field.value());
  request.body = std::move(req.body());
  request.remote_address = std::move(remote_address);
  return request;
}

}  // namespace ferry
