#include "api/ui_assets.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace ferry {
namespace {

HttpRequest get(std::string path, std::string method = "GET") {
  HttpRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  return request;
}

std::string header(const HttpResponse& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

TEST(UiAssets, TableIsSortedAndTyped) {
  const auto files = ui_files();
  ASSERT_FALSE(files.empty());
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end(),
                             [](const EmbeddedFile& a, const EmbeddedFile& b) { return a.path < b.path; }));
  for (const auto& file : files) {
    EXPECT_FALSE(file.bytes.empty()) << file.path;
    EXPECT_FALSE(file.content_type.empty()) << file.path;
    EXPECT_EQ(find_ui_file(file.path), &file) << file.path;
  }
  ASSERT_NE(find_ui_file("index.html"), nullptr);
  EXPECT_EQ(find_ui_file("index.html")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(find_ui_file("nope.html"), nullptr);
  EXPECT_EQ(find_ui_file(""), nullptr);
}

TEST(UiAssets, ServesOnlyItsOwnPaths) {
  EXPECT_FALSE(serve_ui(get("/uix")));
  EXPECT_FALSE(serve_ui(get("/api/v1/workspaces")));
  EXPECT_FALSE(serve_ui(get("/")));
  for (const char* path : {"/ui", "/ui/", "/ui/index.html"}) {
    auto response = serve_ui(get(path));
    ASSERT_TRUE(response) << path;
    EXPECT_EQ(response->status, 200) << path;
    EXPECT_EQ(response->body, find_ui_file("index.html")->bytes) << path;
  }
  auto missing = serve_ui(get("/ui/../CMakeLists.txt"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->content_type, "application/json");
  auto post = serve_ui(get("/ui", "POST"));
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST(UiAssets, OnlyThePortalMayBeFramed) {
  auto page = serve_ui(get("/ui"));
  ASSERT_TRUE(page);
  EXPECT_EQ(header(*page, "x-frame-options"), "DENY");
  EXPECT_NE(header(*page, "content-security-policy").find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(header(*page, "cache-control"), "no-cache");
  auto portal = serve_ui(get("/ui/portal"));
  ASSERT_TRUE(portal);
  EXPECT_EQ(portal->body, find_ui_file("portal.html")->bytes);
  EXPECT_EQ(header(*portal, "x-frame-options"), "");
  EXPECT_NE(header(*portal, "content-security-policy").find("frame-ancestors *"), std::string::npos);
  EXPECT_NE(header(*portal, "content-security-policy").find("default-src 'self'"), std::string::npos);
}

}  // namespace
}  // namespace ferry
