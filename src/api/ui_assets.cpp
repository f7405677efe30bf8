#include "api/ui_assets.hpp"

#include <algorithm>

#include "api/api_support.hpp"

namespace ferry {

namespace {

// Nothing but the server's own files: no inline script or style, no other
// origin. Only the portal's page may be framed (a product embeds it in an
// iframe of its own site); every other page refuses framing.
constexpr std::string_view kPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; ";

}  // namespace

const EmbeddedFile* find_ui_file(std::string_view path) {
  const auto files = ui_files();
  const auto it = std::lower_bound(files.begin(), files.end(), path,
                                   [](const EmbeddedFile& file, std::string_view p) { return file.path < p; });
  if (it == files.end() || it->path != path) return nullptr;
  return &*it;
}

std::optional<HttpResponse> serve_ui(const HttpRequest& request) {
  constexpr std::string_view kPrefix = "/ui";
  const std::string_view path = request.path;
  if (!path.starts_with(kPrefix) || (path.size() > kPrefix.size() && path[kPrefix.size()] != '/')) {
    return std::nullopt;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    auto response = method_not_allowed(request.method);
    response.headers.emplace_back("allow", "GET, HEAD");
    return response;
  }
  std::string_view file = path.substr(kPrefix.size());
  if (file.starts_with('/')) file.remove_prefix(1);
  const bool portal = file == "portal";
  if (file.empty()) {
    file = "index.html";
  } else if (portal) {
    file = "portal.html";
  }
  const EmbeddedFile* found = find_ui_file(file);
  if (found == nullptr) return error_response(404, "not_found", "no such file");
  HttpResponse response;
  response.content_type = std::string(found->content_type);
  response.body = std::string(found->bytes);  // the server sends none to HEAD
  response.headers.emplace_back("cache-control", "no-cache");
  response.headers.emplace_back("x-content-type-options", "nosniff");
  response.headers.emplace_back("referrer-policy", "no-referrer");
  if (portal) {
    response.headers.emplace_back("content-security-policy", std::string(kPolicy) + "frame-ancestors *");
  } else {
    response.headers.emplace_back("content-security-policy", std::string(kPolicy) + "frame-ancestors 'none'");
    response.headers.emplace_back("x-frame-options", "DENY");
  }
  return response;
}

}  // namespace ferry
