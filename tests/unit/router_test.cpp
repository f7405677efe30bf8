#include "api/router.hpp"

#include <gtest/gtest.h>

#include "api/api_support.hpp"

namespace ferry {
namespace {

TEST(Router, MatchesPatternsAndCapturesDecodedParams) {
  Router router;
  int called = 0;
  router.add("GET", "/api/v1/workspaces/{ws}/endpoints/{ep}", Access::workspace, [&](ApiCall&) { ++called; });
  router.add("POST", "/api/v1/workspaces/{ws}/endpoints", Access::workspace, [&](ApiCall&) { called += 10; });
  auto hit = router.match("GET", "/api/v1/workspaces/__org__/endpoints/ep%5F1");
  ASSERT_TRUE(std::holds_alternative<Router::Match>(hit));
  auto& match = std::get<Router::Match>(hit);
  EXPECT_EQ(match.params["ws"], "__org__");
  EXPECT_EQ(match.params["ep"], "ep_1");
  EXPECT_EQ(match.access, Access::workspace);
  // Its place in routes(), which labels its metrics by pattern.
  EXPECT_EQ(router.routes()[match.index].pattern, "/api/v1/workspaces/{ws}/endpoints/{ep}");
  EXPECT_EQ(std::get<Router::Match>(router.match("POST", "/api/v1/workspaces/a/endpoints")).index, 1u);
  ApiCall call;
  (*match.handler)(call);
  EXPECT_EQ(called, 1);

  auto wrong_method = router.match("DELETE", "/api/v1/workspaces/a/endpoints");
  ASSERT_TRUE(std::holds_alternative<Router::Miss>(wrong_method));
  EXPECT_EQ(std::get<Router::Miss>(wrong_method), Router::Miss::method_not_allowed);
  auto missing = router.match("GET", "/api/v1/workspaces/a/nothing/b");
  EXPECT_EQ(std::get<Router::Miss>(missing), Router::Miss::not_found);
  EXPECT_EQ(std::get<Router::Miss>(router.match("GET", "/api/v1/workspaces//endpoints/x")), Router::Miss::not_found);
}

TEST(Router, ListsItsRoutesInOrder) {
  Router router;
  EXPECT_TRUE(router.routes().empty());
  router.add("GET", "/healthz", Access::open, [](ApiCall&) {});
  router.add("DELETE", "/api/v1/workspaces/{ws}/api-keys/{key}", Access::admin, [](ApiCall&) {});
  router.add("GET", "/api/v1/workspaces/{ws}", Access::workspace, [](ApiCall&) {});
  const auto routes = router.routes();
  ASSERT_EQ(routes.size(), 3U);
  EXPECT_EQ(routes[0].method, "GET");
  EXPECT_EQ(routes[0].pattern, "/healthz");
  EXPECT_EQ(routes[0].access, Access::open);
  EXPECT_EQ(routes[1].method, "DELETE");
  EXPECT_EQ(routes[1].pattern, "/api/v1/workspaces/{ws}/api-keys/{key}");
  EXPECT_EQ(routes[1].access, Access::admin);
  EXPECT_EQ(routes[2].pattern, "/api/v1/workspaces/{ws}");
  EXPECT_EQ(routes[2].access, Access::workspace);
}

TEST(ApiSupport, QueryParamsAndPages) {
  EXPECT_EQ(query_param("a=1&type=order.paid&b", "type"), "order.paid");
  EXPECT_EQ(query_param("since=2025-11-23T10%3A00%3A00Z", "since"), "2025-11-23T10:00:00Z");
  EXPECT_EQ(query_param("b", "b"), "");
  EXPECT_FALSE(query_param("a=1", "b").has_value());
  auto page = page_request("limit=2&cursor=msg_X");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->limit, 2);
  EXPECT_EQ(page->cursor, "msg_X");
  EXPECT_FALSE(page_request("limit=0").ok());
  EXPECT_FALSE(page_request("limit=abc").ok());
  EXPECT_FALSE(page_request("limit=1001").ok());
}

TEST(ApiSupport, ErrorsHaveTheContractShape) {
  auto response = error_response(make_error(ErrorCode::not_found, "workspace not found"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body, R"({"error":{"code":"not_found","message":"workspace not found"}})");
  EXPECT_EQ(http_status_of(ErrorCode::unavailable), 503);
  EXPECT_EQ(http_status_of(ErrorCode::payload_too_large), 413);
}

}  // namespace
}  // namespace ferry
