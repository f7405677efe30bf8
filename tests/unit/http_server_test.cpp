#include "api/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "unit/http_test_client.hpp"

namespace ferry {
namespace {

using namespace std::chrono_literals;
using testutil::TestHttpClient;
using testutil::TestHttpResponse;
using Clock = std::chrono::steady_clock;

// Answers at once with everything it saw, as JSON.
class EchoHandler : public HttpHandler {
 public:
  void handle(HttpRequest request, HttpRespond respond) override {
    ++calls;
    nlohmann::json headers = nlohmann::json::array();
    for (const auto& [name, value] : request.headers) headers.push_back({name, value});
    nlohmann::json echo = {{"method", request.method}, {"path", request.path},
                           {"query", request.query},   {"headers", headers},
                           {"body", request.body},     {"remote_address", request.remote_address}};
    HttpResponse response;
    response.body = echo.dump();
    respond(std::move(response));
  }
  std::atomic<int> calls{0};
};

// Keeps every request for the test to answer when (and from where) it likes.
class DeferredHandler : public HttpHandler {
 public:
  struct Pending {
    HttpRequest request;
    HttpRespond respond;
  };

  void handle(HttpRequest request, HttpRespond respond) override {
    std::lock_guard lock(mutex_);
    pending_.push_back({std::move(request), std::move(respond)});
    cv_.notify_all();
  }

  std::optional<Pending> wait(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [this] { return !pending_.empty(); })) return std::nullopt;
    Pending pending = std::move(pending_.front());
    pending_.pop_front();
    return pending;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Pending> pending_;
};

class FunctionHandler : public HttpHandler {
 public:
  explicit FunctionHandler(std::function<void(HttpRequest, HttpRespond)> f) : f_(std::move(f)) {}
  void handle(HttpRequest request, HttpRespond respond) override { f_(std::move(request), std::move(respond)); }

 private:
  std::function<void(HttpRequest, HttpRespond)> f_;
};

HttpServer::Config test_config() {
  HttpServer::Config config;
  config.host = "127.0.0.1";
  config.port = 0;
  return config;
}

std::unique_ptr<HttpServer> start_server(HttpHandler& handler, HttpServer::Config config = test_config()) {
  auto started = HttpServer::start(std::move(config), handler);
  if (!started.ok()) {
    ADD_FAILURE() << "start: " << started.error().message;
    return nullptr;
  }
  return std::move(started).value();
}

nlohmann::json json_of(const TestHttpResponse& response) { return nlohmann::json::parse(response.body); }

std::string error_code_of(const TestHttpResponse& response) {
  return json_of(response).at("error").at("code").get<std::string>();
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// --- the normal exchange ----------------------------------------------------

TEST(HttpServer, EchoesMethodPathQueryHeadersBodyAndRemoteAddress) {
  EchoHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  EXPECT_EQ(server->address(), "127.0.0.1:" + std::to_string(server->port()));

  TestHttpClient client(server->port());
  ASSERT_TRUE(client.connected()) << client.error();
  auto response = client.request("POST", "/hooks/a%20b?x=1&y=2", R"({"hello":"world"})",
                                 {{"X-Custom-Thing", "Foo Bar"}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->version, "HTTP/1.1");
  EXPECT_EQ(response->header("content-type"), "application/json");
  EXPECT_EQ(response->header("server"), "Ferry");
  EXPECT_EQ(response->header("content-length"), std::to_string(response->body.size()));

  const auto echo = json_of(*response);
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_EQ(echo["path"], "/hooks/a%20b");
  EXPECT_EQ(echo["query"], "x=1&y=2");
  EXPECT_EQ(echo["body"], R"({"hello":"world"})");
  EXPECT_EQ(echo["remote_address"], "127.0.0.1");
  const auto& headers = echo["headers"];
  EXPECT_NE(std::find(headers.begin(), headers.end(), nlohmann::json({"x-custom-thing", "Foo Bar"})), headers.end())
      << headers.dump();
  EXPECT_NE(std::find(headers.begin(), headers.end(), nlohmann::json({"content-type", "application/json"})),
            headers.end())
      << headers.dump();
  EXPECT_EQ(handler.calls, 1);
}

TEST(HttpServer, PathWithoutQueryHasEmptyQuery) {
  EchoHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  auto response = testutil::http_request(server->port(), "GET", "/healthz");
  ASSERT_TRUE(response);
  EXPECT_EQ(json_of(*response)["path"], "/healthz");
  EXPECT_EQ(json_of(*response)["query"], "");
  EXPECT_EQ(json_of(*response)["body"], "");
}

TEST(HttpServer, KeepAliveServesTwoRequestsOnOneConnection) {
  EchoHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  auto first = client.request("GET", "/one");
  ASSERT_TRUE(first) << client.error();
  EXPECT_NE(first->header("connection"), "close");
  auto second = client.request("POST", "/two", "body");
  ASSERT_TRUE(second) << client.error();
  EXPECT_EQ(json_of(*first)["path"], "/one");
  EXPECT_EQ(json_of(*second)["path"], "/two");
  EXPECT_EQ(json_of(*second)["body"], "body");
  EXPECT_EQ(handler.calls, 2);
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  EchoHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  ASSERT_TRUE(client.send(TestHttpClient::build_request("GET", "/a") +
                          TestHttpClient::build_request("POST", "/b", "x") +
                          TestHttpClient::build_request("GET", "/c")));
  for (const char* path : {"/a", "/b", "/c"}) {
    auto response = client.read_response();
    ASSERT_TRUE(response) << client.error();
    EXPECT_EQ(json_of(*response)["path"], path);
  }
}

TEST(HttpServer, ConnectionCloseIsHonoured) {
  EchoHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  auto response = client.request("GET", "/", {}, {{"Connection", "close"}});
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_TRUE(client.wait_closed(2s));
}

TEST(HttpServer, Http10ClosesUnlessKeepAliveRequested) {
  EchoHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  {
    TestHttpClient client(server->port());
    ASSERT_TRUE(client.send("GET /old HTTP/1.0\r\n\r\n"));
    auto response = client.read_response();
    ASSERT_TRUE(response) << client.error();
    EXPECT_EQ(response->version, "HTTP/1.0");
    EXPECT_EQ(json_of(*response)["path"], "/old");
    EXPECT_TRUE(client.wait_closed(2s));
  }
  {
    TestHttpClient client(server->port());
    ASSERT_TRUE(client.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto first = client.read_response();
    ASSERT_TRUE(first) << client.error();
    EXPECT_EQ(first->header("connection"), "keep-alive");
    ASSERT_TRUE(client.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto second = client.read_response();
    ASSERT_TRUE(second) << client.error();
    EXPECT_EQ(json_of(*second)["path"], "/b");
  }
}

TEST(HttpServer, HeadResponseCarriesLengthButNoBody) {
  EchoHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  auto head = client.request("HEAD", "/thing");
  ASSERT_TRUE(head) << client.error();
  EXPECT_EQ(head->status, 200);
  ASSERT_TRUE(head->header("content-length"));
  EXPECT_NE(*head->header("content-length"), "0");
  EXPECT_TRUE(head->body.empty());
  // No stray body bytes: the next response on the connection parses cleanly.
  auto next = client.request("GET", "/next");
  ASSERT_TRUE(next) << client.error();
  EXPECT_EQ(json_of(*next)["path"], "/next");
}

TEST(HttpServer, ExpectContinueGets100BeforeTheBody) {
  EchoHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  ASSERT_TRUE(client.send("POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  ASSERT_TRUE(client.read_until("HTTP/1.1 100 Continue\r\n\r\n", 5s)) << client.error();
  ASSERT_TRUE(client.send("hello"));
  auto response = client.read_response();
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(json_of(*response)["body"], "hello");
}

// --- handlers answering later, badly, or not at all --------------------------

TEST(HttpServer, HandlerMayRespondLaterFromAnotherThread) {
  DeferredHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  ASSERT_TRUE(client.send(TestHttpClient::build_request("POST", "/later", "payload")));
  auto pending = handler.wait();
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->request.body, "payload");
  std::thread responder([respond = std::move(pending->respond)] {
    std::this_thread::sleep_for(100ms);
    HttpResponse response;
    response.status = 201;
    response.content_type = "text/plain; charset=utf-8";
    response.body = "made it";
    response.headers = {{"Location", "/later/1"}, {"X-Trace", "abc"}};
    respond(std::move(response));
  });
  auto response = client.read_response();
  responder.join();
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "made it");
  EXPECT_EQ(response->header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(response->header("location"), "/later/1");
  EXPECT_EQ(response->header("x-trace"), "abc");
  EXPECT_EQ(response->header("server"), "Ferry");

  // Still keep-alive after a deferred answer.
  ASSERT_TRUE(client.send(TestHttpClient::build_request("GET", "/again")));
  auto again = handler.wait();
  ASSERT_TRUE(again);
  again->respond(HttpResponse{204, "", "", {}});
  auto second = client.read_response();
  ASSERT_TRUE(second) << client.error();
  EXPECT_EQ(second->status, 204);
  EXPECT_FALSE(second->header("content-length"));
}

TEST(HttpServer, RespondingTwiceSendsOnlyTheFirstAnswer) {
  FunctionHandler handler([](HttpRequest, HttpRespond respond) {
    respond(HttpResponse{200, "text/plain", "first", {}});
    respond(HttpResponse{500, "text/plain", "second", {}});
  });
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  auto first = client.request("GET", "/");
  ASSERT_TRUE(first) << client.error();
  EXPECT_EQ(first->body, "first");
  auto next = client.request("GET", "/");
  ASSERT_TRUE(next) << client.error();
  EXPECT_EQ(next->body, "first");
}

TEST(HttpServer, DroppedRespondAnswers500) {
  FunctionHandler handler([](HttpRequest, HttpRespond) {});
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  auto response = testutil::http_request(server->port(), "GET", "/");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(error_code_of(*response), "internal");
}

TEST(HttpServer, ThrowingHandlerAnswers500AndServerCarriesOn) {
  FunctionHandler handler([](HttpRequest request, HttpRespond respond) {
    if (request.path == "/throw") throw std::runtime_error("boom");
    respond(HttpResponse{200, "text/plain", "ok", {}});
  });
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  auto thrown = client.request("GET", "/throw");
  ASSERT_TRUE(thrown) << client.error();
  EXPECT_EQ(thrown->status, 500);
  auto fine = client.request("GET", "/fine");
  ASSERT_TRUE(fine) << client.error();
  EXPECT_EQ(fine->body, "ok");
}

TEST(HttpServer, InvalidHeadersFromHandlerAreDropped) {
  FunctionHandler handler([](HttpRequest, HttpRespond respond) {
    respond(
        HttpResponse{200,
                     "text/plain",
                     "ok",
                     {{"X-Good", "yes"}, {"X-Bad", "a\r\nInjected: 1"}, {"Bad Name", "x"}, {"Content-Length", "999"}}});
  });
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  auto response = testutil::http_request(server->port(), "GET", "/");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->header("x-good"), "yes");
  EXPECT_FALSE(response->header("x-bad"));
  EXPECT_FALSE(response->header("injected"));
  EXPECT_EQ(response->header("content-length"), "2");
  EXPECT_EQ(response->body, "ok");
}

TEST(HttpServer, ResponseAfterClientLeftIsHarmless) {
  DeferredHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  {
    TestHttpClient client(server->port());
    ASSERT_TRUE(client.send(TestHttpClient::build_request("GET", "/gone")));
    auto pending = handler.wait();
    ASSERT_TRUE(pending);
    client.close();
    std::this_thread::sleep_for(50ms);
    pending->respond(HttpResponse{200, "text/plain", "nobody listens", {}});
  }
  std::this_thread::sleep_for(100ms);
  TestHttpClient other(server->port());
  ASSERT_TRUE(other.send(TestHttpClient::build_request("GET", "/here")));
  auto pending = handler.wait();
  ASSERT_TRUE(pending);
  pending->respond(HttpResponse{200, "text/plain", "here", {}});
  auto response = other.read_response();
  ASSERT_TRUE(response) << other.error();
  EXPECT_EQ(response->body, "here");
}

// --- protocol errors ----------------------------------------------------------

TEST(HttpServer, OversizedBodyGets413AndHandlerIsNotCalled) {
  EchoHandler handler;
  auto config = test_config();
  config.max_body_bytes = 64;
  auto server = start_server(handler, config);
  ASSERT_TRUE(server);

  TestHttpClient client(server->port());
  auto response = client.request("POST", "/big", std::string(1000, 'x'));
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->header("content-type"), "application/json");
  EXPECT_EQ(error_code_of(*response), "payload_too_large");
  EXPECT_FALSE(json_of(*response)["error"]["message"].get<std::string>().empty());
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_TRUE(client.wait_closed(3s));

  // Chunked bodies are counted as they arrive.
  TestHttpClient chunked(server->port());
  const std::string chunk(40, 'y');
  ASSERT_TRUE(chunked.send("POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n28\r\n" + chunk +
                           "\r\n28\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto chunked_response = chunked.read_response();
  ASSERT_TRUE(chunked_response) << chunked.error();
  EXPECT_EQ(chunked_response->status, 413);

  // A body exactly at the limit is fine.
  auto at_limit = testutil::http_request(server->port(), "POST", "/ok", std::string(64, 'z'));
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit->status, 200);
  EXPECT_EQ(handler.calls, 1);
}

TEST(HttpServer, OversizedBodyWithExpectContinueGets413WithoutContinue) {
  EchoHandler handler;
  auto config = test_config();
  config.max_body_bytes = 64;
  auto server = start_server(handler, config);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  ASSERT_TRUE(client.send("POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(client.buffered().find("100 Continue"), std::string::npos);
  EXPECT_EQ(handler.calls, 0);
}

TEST(HttpServer, OversizedHeadersGet431) {
  EchoHandler handler;
  auto config = test_config();
  config.max_header_bytes = 1024;
  auto server = start_server(handler, config);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  auto response = client.request("GET", "/", {}, {{"X-Huge", std::string(4000, 'h')}});
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(error_code_of(*response), kHeadersTooLargeCode);
  EXPECT_TRUE(client.wait_closed(3s));
  EXPECT_EQ(handler.calls, 0);
}

TEST(HttpServer, GarbageGets400) {
  EchoHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  ASSERT_TRUE(client.send("\x01\x02\x03 this is not http\r\n\r\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(error_code_of(*response), "bad_request");
  EXPECT_TRUE(client.wait_closed(3s));

  TestHttpClient bad_length(server->port());
  ASSERT_TRUE(bad_length.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"));
  auto second = bad_length.read_response();
  ASSERT_TRUE(second) << bad_length.error();
  EXPECT_EQ(second->status, 400);
  EXPECT_EQ(handler.calls, 0);
}

// --- timeouts -------------------------------------------------------------------

TEST(HttpServer, IdleConnectionIsClosedAfterIdleTimeout) {
  EchoHandler handler;
  auto config = test_config();
  config.idle_timeout = 1s;
  config.read_timeout = 5s;
  auto server = start_server(handler, config);
  ASSERT_TRUE(server);

  // Idle after a request...
  TestHttpClient client(server->port());
  ASSERT_TRUE(client.request("GET", "/")) << client.error();
  auto start = Clock::now();
  EXPECT_TRUE(client.wait_closed(4s));
  EXPECT_GE(seconds_since(start), 0.8);
  EXPECT_LT(seconds_since(start), 3.5);

  // ...and idle from the start.
  TestHttpClient silent(server->port());
  ASSERT_TRUE(silent.connected());
  start = Clock::now();
  EXPECT_TRUE(silent.wait_closed(4s));
  EXPECT_GE(seconds_since(start), 0.8);
  EXPECT_TRUE(silent.buffered().empty()) << "an idle close sends nothing";
}

TEST(HttpServer, RequestStalledMidHeadersIsClosedAfterReadTimeout) {
  EchoHandler handler;
  auto config = test_config();
  config.idle_timeout = 30s;
  config.read_timeout = 1s;
  auto server = start_server(handler, config);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  ASSERT_TRUE(client.send("GET /slow HTTP/1.1\r\nHost: x\r\nX-Partial: "));
  const auto start = Clock::now();
  EXPECT_TRUE(client.wait_closed(5s));
  EXPECT_GE(seconds_since(start), 0.8);
  EXPECT_LT(seconds_since(start), 4.0);
  EXPECT_EQ(handler.calls, 0);
}

TEST(HttpServer, RequestTricklingInIsClosedAfterReadTimeout) {
  EchoHandler handler;
  auto config = test_config();
  config.idle_timeout = 30s;
  config.read_timeout = 1s;
  auto server = start_server(handler, config);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  const std::string request = "GET /trickle HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(200, 'a') + "\r\n\r\n";
  const auto start = Clock::now();
  bool closed = false;
  for (char c : request) {
    // Each byte arrives well within any per-read timeout; the whole request doesn't.
    if (!client.send(std::string_view(&c, 1)) || client.wait_closed(150ms)) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(seconds_since(start), 4.0);
  EXPECT_EQ(handler.calls, 0);
}

TEST(HttpServer, NoTimeoutWhileHandlerWorks) {
  DeferredHandler handler;
  auto config = test_config();
  config.idle_timeout = 1s;
  config.read_timeout = 1s;
  auto server = start_server(handler, config);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  ASSERT_TRUE(client.send(TestHttpClient::build_request("GET", "/slow-handler")));
  auto pending = handler.wait();
  ASSERT_TRUE(pending);
  std::this_thread::sleep_for(2500ms);  // longer than both timeouts
  pending->respond(HttpResponse{200, "text/plain", "worth the wait", {}});
  auto response = client.read_response();
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->body, "worth the wait");
}

// --- lifecycle -------------------------------------------------------------------

TEST(HttpServer, ShutdownDeliversInFlightResponseThenRefusesConnects) {
  DeferredHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  const auto port = server->port();
  TestHttpClient client(port);
  ASSERT_TRUE(client.send(TestHttpClient::build_request("POST", "/in-flight", "x")));
  auto pending = handler.wait();
  ASSERT_TRUE(pending);

  std::atomic<bool> connect_during_grace{true};
  std::thread responder([&, respond = std::move(pending->respond)] {
    std::this_thread::sleep_for(300ms);  // shutdown is under way by now
    connect_during_grace = testutil::can_connect(port);
    respond(HttpResponse{200, "text/plain", "finished", {}});
  });
  const auto start = Clock::now();
  server->shutdown(5s);
  const double took = seconds_since(start);
  responder.join();

  EXPECT_FALSE(connect_during_grace) << "the listener closes as shutdown starts";
  EXPECT_GE(took, 0.25) << "shutdown waited for the response";
  EXPECT_LT(took, 4.0) << "and no longer than needed";
  auto response = client.read_response();
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "finished");
  EXPECT_EQ(response->header("connection"), "close");
  EXPECT_TRUE(client.wait_closed(1s));

  TestHttpClient late;
  EXPECT_FALSE(late.connect(port));
  EXPECT_EQ(late.last_errno(), ECONNREFUSED) << late.error();
  server->shutdown(1s);  // idempotent
}

TEST(HttpServer, ShutdownClosesIdleKeepAliveConnectionsAtOnce) {
  EchoHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  ASSERT_TRUE(client.request("GET", "/")) << client.error();
  TestHttpClient never_spoke(server->port());
  ASSERT_TRUE(never_spoke.connected());
  std::this_thread::sleep_for(50ms);  // let the server accept it
  const auto start = Clock::now();
  server->shutdown(10s);
  EXPECT_LT(seconds_since(start), 2.0);
  EXPECT_TRUE(client.wait_closed(1s));
  EXPECT_TRUE(never_spoke.wait_closed(1s));
}

TEST(HttpServer, ShutdownCutsHandlersThatOutliveGraceAndLateAnswersAreDropped) {
  DeferredHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  ASSERT_TRUE(client.send(TestHttpClient::build_request("GET", "/forever")));
  auto pending = handler.wait();
  ASSERT_TRUE(pending);
  const auto start = Clock::now();
  server->shutdown(200ms);
  EXPECT_LT(seconds_since(start), 3.0);
  EXPECT_TRUE(client.wait_closed(1s));
  EXPECT_TRUE(client.buffered().empty());
  server.reset();
  // The server and its io_context are gone; answering must be a harmless no-op.
  pending->respond(HttpResponse{200, "text/plain", "too late", {}});
  pending.reset();
}

TEST(HttpServer, DestructorWithHandlerStillHoldingRespondIsClean) {
  DeferredHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  ASSERT_TRUE(client.send(TestHttpClient::build_request("GET", "/held")));
  auto pending = handler.wait();
  ASSERT_TRUE(pending);
  server.reset();  // no explicit shutdown
  EXPECT_TRUE(client.wait_closed(1s));
  pending.reset();  // dropping respond after the server is gone (would answer 500) is a no-op too
}

TEST(HttpServer, StopAcceptingKeepsExistingConnections) {
  EchoHandler handler;
  auto server = start_server(handler);
  ASSERT_TRUE(server);
  TestHttpClient client(server->port());
  ASSERT_TRUE(client.request("GET", "/before")) << client.error();
  server->stop_accepting();
  server->stop_accepting();  // idempotent
  TestHttpClient late;
  EXPECT_FALSE(late.connect(server->port()));
  EXPECT_EQ(late.last_errno(), ECONNREFUSED) << late.error();
  auto after = client.request("GET", "/after");
  ASSERT_TRUE(after) << client.error();
  EXPECT_EQ(json_of(*after)["path"], "/after");
}

TEST(HttpServer, ConnectionsOverTheLimitGet503AndClose) {
  EchoHandler handler;
  auto config = test_config();
  config.max_connections = 1;
  auto server = start_server(handler, config);
  ASSERT_TRUE(server);
  TestHttpClient first(server->port());
  ASSERT_TRUE(first.request("GET", "/")) << first.error();  // surely accepted and counted

  TestHttpClient second(server->port());
  ASSERT_TRUE(second.connected());
  auto refused = second.read_response();
  ASSERT_TRUE(refused) << second.error();
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(error_code_of(*refused), "unavailable");
  EXPECT_TRUE(second.wait_closed(2s));

  // Once the first leaves, there is room again.
  first.close();
  std::optional<TestHttpResponse> later;
  const auto deadline = Clock::now() + 3s;
  while (Clock::now() < deadline) {
    later = testutil::http_request(server->port(), "GET", "/later");
    if (later && later->status == 200) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200);
}

// --- start() ------------------------------------------------------------------------

TEST(HttpServer, PortInUseIsUnavailable) {
  EchoHandler handler;
  auto first = start_server(handler);
  ASSERT_TRUE(first);
  auto config = test_config();
  config.port = first->port();
  auto second = HttpServer::start(config, handler);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::unavailable);
  EXPECT_NE(second.error().message.find("127.0.0.1:" + std::to_string(first->port())), std::string::npos)
      << second.error().message;
}

TEST(HttpServer, UnresolvableHostIsUnavailable) {
  EchoHandler handler;
  auto config = test_config();
  config.host = "no-such-host.invalid";
  auto started = HttpServer::start(config, handler);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::unavailable);
}

TEST(HttpServer, InvalidConfigIsBadRequest) {
  EchoHandler handler;
  auto config = test_config();
  config.threads = 0;
  auto started = HttpServer::start(config, handler);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::bad_request);
}

TEST(HttpServer, LocalhostResolves) {
  EchoHandler handler;
  auto config = test_config();
  config.host = "localhost";
  auto server = start_server(handler, config);
  ASSERT_TRUE(server);
  const auto address = server->address();
  EXPECT_TRUE(address == "127.0.0.1:" + std::to_string(server->port()) ||
              address == "[::1]:" + std::to_string(server->port()))
      << address;
  TestHttpClient client(server->port(), address.front() == '[' ? "::1" : "127.0.0.1");
  auto response = client.request("GET", "/");
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(response->status, 200);
}

TEST(HttpServer, ListensOnIPv6) {
  EchoHandler handler;
  auto config = test_config();
  config.host = "::1";
  auto started = HttpServer::start(config, handler);
  if (!started.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << started.error().message;
  auto server = std::move(started).value();
  EXPECT_EQ(server->address(), "[::1]:" + std::to_string(server->port()));
  TestHttpClient client(server->port(), "::1");
  auto response = client.request("GET", "/v6");
  ASSERT_TRUE(response) << client.error();
  EXPECT_EQ(json_of(*response)["remote_address"], "::1");
}

TEST(HttpServer, CustomServerHeaderAndManyThreads) {
  EchoHandler handler;
  auto config = test_config();
  config.server_header = "Ferry/test";
  config.threads = 4;
  auto server = start_server(handler, config);
  ASSERT_TRUE(server);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      TestHttpClient client(server->port());
      for (int j = 0; j < 20; ++j) {
        auto response = client.request("POST", "/c/" + std::to_string(i), std::to_string(j));
        if (response && response->status == 200 && response->header("server") == "Ferry/test" &&
            json_of(*response)["body"] == std::to_string(j)) {
          ++ok;
        }
      }
    });
  }
  for (auto& thread : clients) thread.join();
  EXPECT_EQ(ok, 160);
}

}  // namespace
}  // namespace ferry
