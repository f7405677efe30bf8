#include "api/router.hpp"

namespace ferry {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.starts_with('/')) path.remove_prefix(1);
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

const std::string& PathParams::operator[](std::string_view name) const {
  static const std::string empty;
  for (const auto& [key, value] : values) {
    if (key == name) return value;
  }
  return empty;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

void Router::add(std::string method, std::string_view pattern, Access access, RouteHandler handler) {
  Route route{std::move(method), std::string(pattern), {}, access, std::move(handler)};
  for (auto segment : split_path(pattern)) route.segments.emplace_back(segment);
  routes_.push_back(std::move(route));
}

std::variant<Router::Match, Router::Miss> Router::match(std::string_view method, std::string_view path) const {
  const auto segments = split_path(path);
  bool path_matched = false;
  for (std::size_t index = 0; index < routes_.size(); ++index) {
    const Route& route = routes_[index];
    if (route.segments.size() != segments.size()) continue;
    PathParams params;
    bool matches = true;
    for (std::size_t i = 0; i < segments.size() && matches; ++i) {
      const std::string& expected = route.segments[i];
      if (expected.size() > 2 && expected.front() == '{' && expected.back() == '}') {
        if (segments[i].empty())
          matches = false;
        else
          params.values.emplace_back(expected.substr(1, expected.size() - 2), percent_decode(segments[i], false));
      } else {
        matches = expected == segments[i];
      }
    }
    if (!matches) continue;
    path_matched = true;
    if (route.method == method) return Match{&route.handler, route.access, std::move(params), index};
  }
  return path_matched ? Miss::method_not_allowed : Miss::not_found;
}

std::vector<Router::RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  for (const auto& route : routes_) out.push_back({route.method, route.pattern, route.access});
  return out;
}

}  // namespace ferry
