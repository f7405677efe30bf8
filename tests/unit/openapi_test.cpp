#include "api/openapi_document.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "api/api_handler.hpp"
#include "catalog/catalog_registry.hpp"
#include "cli/serve_command.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/portal_token.hpp"
#include "core/subscription_index.hpp"
#include "core/wire_profile.hpp"
#include "delivery/target_policy.hpp"
#include "ingest/ingestor.hpp"
#include "store/sqlite_store.hpp"
#include "unit/store_test_support.hpp"

namespace ferry {
namespace {

using nlohmann::json;

// "/api/v1/workspaces/{ws}/endpoints/{ep}" -> "/api/v1/workspaces/{}/endpoints/{}":
// placeholders compare by position, whatever their names.
std::string normalise(const std::string& path) {
  std::string out;
  bool in_placeholder = false;
  for (char c : path) {
    if (c == '{') {
      in_placeholder = true;
      out += "{}";
    } else if (c == '}') {
      in_placeholder = false;
    } else if (!in_placeholder) {
      out += c;
    }
  }
  return out;
}

std::string lowercase(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

const char* access_name(Access access) {
  switch (access) {
    case Access::open: return "open";
    case Access::any: return "any";
    case Access::admin: return "admin";
    case Access::workspace: return "workspace";
    case Access::workspace_or_portal: return "workspace_or_portal";
    case Access::any_or_portal: return "any_or_portal";
  }
  return "?";
}

const json& document() {
  static const json parsed = json::parse(openapi_json());
  return parsed;
}

// The operation of a route in the document: the path whose normalised form
// is the route's, and the route's method. nullptr when there is none.
const json* operation_of(const Router::RouteInfo& route) {
  for (const auto& [path, item] : document()["paths"].items()) {
    if (normalise(path) != normalise(route.pattern)) continue;
    const auto found = item.find(lowercase(route.method));
    return found == item.end() ? nullptr : &*found;
  }
  return nullptr;
}

void collect_refs(const json& node, std::vector<std::string>& refs) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "$ref" && value.is_string()) refs.push_back(value.get<std::string>());
      collect_refs(value, refs);
    }
  } else if (node.is_array()) {
    for (const auto& value : node) collect_refs(value, refs);
  }
}

// The API exactly as `ferry serve` puts it together: an ApiHandler over real
// services (an SQLite store in a temporary directory), which registers every
// route group itself.
class OpenApi : public testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqliteStore::open((dir_.path() / "ferry.db").string());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
    catalogs_ = std::make_unique<CatalogRegistry>(*store_, clock_);
    ingestor_ =
        std::make_unique<Ingestor>(*store_, subscriptions_, clock_, IngestConfig{}, [](std::vector<NewDelivery>) {});
    ApiServices services{*store_,      *ingestor_, subscriptions_, *catalogs_,
                         profiles_,    metrics_,   clock_,         targets_,
                         [] {},        {},         "admin-token",  portal_signing_key("admin-token"),
                         kFerryVersion};
    handler_ = std::make_unique<ApiHandler>(services, 1);
  }

  void TearDown() override {
    handler_.reset();
    if (ingestor_) ingestor_->stop();
  }

  std::vector<Router::RouteInfo> routes() const { return handler_->router().routes(); }

  TempDir dir_{"ferry-openapi"};
  SystemClock clock_;
  Metrics metrics_;
  WireProfiles profiles_;
  TargetPolicy targets_;
  SubscriptionIndex subscriptions_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<CatalogRegistry> catalogs_;
  std::unique_ptr<Ingestor> ingestor_;
  std::unique_ptr<ApiHandler> handler_;
};

TEST_F(OpenApi, IsAnOpenApi31DocumentOfThisVersion) {
  ASSERT_TRUE(json::accept(openapi_json())) << "src/api/openapi.json is not valid JSON";
  EXPECT_EQ(document().value("openapi", ""), "3.1.0");
  EXPECT_EQ(document()["info"].value("version", ""), kFerryVersion)
      << "info.version of src/api/openapi.json must be the server's version";
}

TEST_F(OpenApi, EveryRouteIsDocumented) {
  const auto registered = routes();
  ASSERT_GT(registered.size(), 30U) << "the handler registered fewer routes than the API has";
  for (const auto& route : registered) {
    EXPECT_NE(operation_of(route), nullptr)
        << route.method << " " << route.pattern << " is a route but not an operation of src/api/openapi.json";
  }
}

TEST_F(OpenApi, EveryOperationIsARoute) {
  std::set<std::string> registered;
  for (const auto& route : routes()) registered.insert(lowercase(route.method) + " " + normalise(route.pattern));
  const std::set<std::string> methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};
  int operations = 0;
  for (const auto& [path, item] : document()["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      if (!methods.contains(method)) continue;  // parameters, summary…
      ++operations;
      EXPECT_TRUE(registered.contains(method + " " + normalise(path)))
          << method << " " << path << " is in src/api/openapi.json but the server has no such route";
    }
  }
  EXPECT_EQ(operations, static_cast<int>(routes().size()));
}

// Who may call each operation, as the document says it, is who the router lets in.
TEST_F(OpenApi, SecurityMatchesEachRoutesAccess) {
  const json admin_only = json::array({{{"adminToken", json::array()}}});
  const json admin_or_key = json::array({{{"adminToken", json::array()}}, {{"apiKey", json::array()}}});
  const json admin_key_or_portal =
      json::array({{{"adminToken", json::array()}}, {{"apiKey", json::array()}}, {{"portalToken", json::array()}}});
  for (const auto& route : routes()) {
    const json* operation = operation_of(route);
    if (operation == nullptr) continue;  // reported by EveryRouteIsDocumented
    SCOPED_TRACE(route.method + " " + route.pattern);
    EXPECT_EQ(operation->value("x-ferry-access", ""), access_name(route.access));
    ASSERT_TRUE(operation->contains("security")) << "every operation says its security, even if none";
    const json& security = (*operation)["security"];
    const json& responses = (*operation)["responses"];
    switch (route.access) {
      case Access::open: EXPECT_EQ(security, json::array()); break;
      case Access::admin: EXPECT_EQ(security, admin_only); break;
      case Access::any:
      case Access::workspace: EXPECT_EQ(security, admin_or_key); break;
      case Access::workspace_or_portal:
      case Access::any_or_portal: EXPECT_EQ(security, admin_key_or_portal); break;
    }
    if (route.access != Access::open) {
      EXPECT_TRUE(responses.contains("401"));
      EXPECT_TRUE(responses.contains("429"));
    }
    if (route.access == Access::admin) {
      EXPECT_TRUE(responses.contains("403"));
    }
    if (route.access == Access::workspace || route.access == Access::workspace_or_portal) {
      EXPECT_TRUE(responses.contains("404"));
    }
  }
}

TEST_F(OpenApi, EveryReferenceResolves) {
  std::vector<std::string> refs;
  collect_refs(document(), refs);
  ASSERT_FALSE(refs.empty());
  for (const auto& ref : refs) {
    ASSERT_TRUE(ref.starts_with("#/")) << ref << ": only references inside the document";
    EXPECT_TRUE(document().contains(json::json_pointer(ref.substr(1)))) << ref << " does not resolve";
  }
}

// Every code an error body can carry is in the Error schema's list.
TEST_F(OpenApi, ErrorSchemaListsEveryErrorCode) {
  const json& codes = document()["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"];
  ASSERT_TRUE(codes.is_array());
  std::vector<std::string> expected;
  for (int code = static_cast<int>(ErrorCode::bad_request); code <= static_cast<int>(ErrorCode::internal); ++code) {
    expected.emplace_back(error_code_name(static_cast<ErrorCode>(code)));
  }
  // Written out by ApiHandler (405, 429) and HttpServer (431) themselves.
  for (const std::string_view code : {kMethodNotAllowedCode, kRateLimitedCode, kHeadersTooLargeCode}) {
    expected.emplace_back(code);
  }
  for (const auto& code : expected) {
    EXPECT_NE(std::find(codes.begin(), codes.end(), code), codes.end()) << code << " is missing from Error.code";
  }
}

TEST_F(OpenApi, IsServedAsCompiledInWithoutAToken) {
  HttpRequest request;
  request.method = "GET";
  request.path = "/api/openapi.json";
  std::promise<HttpResponse> answered;
  handler_->handle(std::move(request), [&answered](HttpResponse response) { answered.set_value(std::move(response)); });
  auto future = answered.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const HttpResponse response = future.get();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, openapi_json());
}

}  // namespace
}  // namespace ferry
