#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api/http_types.hpp"

namespace ferry {

// Who is calling: the admin, or the holder of one workspace's API key.
struct Caller {
  bool admin = false;
  std::string workspace_id;  // for a workspace key or a portal link
  std::string key_id;        // for a workspace key; the rate limit's bucket
  bool portal = false;       // a customer-portal link (core/portal_token.hpp)
};

// Who may call a route.
enum class Access {
  open,       // no token needed
  any,        // admin or any workspace key
  admin,      // admin only (a workspace key gets 403)
  workspace,  // admin, or the key of the route's {ws}; another workspace's key gets 404
  // As workspace and any, and also open to a customer-portal link (of that
  // {ws}): what a workspace's own customers may see and do. Every other
  // route refuses a portal link with 403.
  workspace_or_portal,
  any_or_portal,
};

struct PathParams {
  std::vector<std::pair<std::string, std::string>> values;
  const std::string& operator[](std::string_view name) const;
};

// One API call in progress. `respond` must be called exactly once.
struct ApiCall {
  HttpRequest request;
  PathParams params;
  Caller caller;
  HttpRespond respond;
};

using RouteHandler = std::function<void(ApiCall&)>;

// Matches "METHOD /path" against patterns such as
// "/api/v1/workspaces/{ws}/endpoints/{ep}". Plain data, no I/O.
class Router {
 public:
  void add(std::string method, std::string_view pattern, Access access, RouteHandler handler);

  struct Match {
    const RouteHandler* handler = nullptr;
    Access access = Access::open;
    PathParams params;
    std::size_t index = 0;  // the route's place in routes()
  };
  enum class Miss { not_found, method_not_allowed };

  // The route for the request, or why there is none.
  std::variant<Match, Miss> match(std::string_view method, std::string_view path) const;

  struct RouteInfo {
    std::string method;
    std::string pattern;
    Access access;
  };
  std::vector<RouteInfo> routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" segments capture
    Access access;
    RouteHandler handler;
  };
  std::vector<Route> routes_;
};

// Percent-decodes a path segment or query value ("+" stays "+" in paths).
std::string percent_decode(std::string_view text, bool plus_is_space);

}  // namespace ferry
