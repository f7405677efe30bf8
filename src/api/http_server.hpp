#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/http_types.hpp"
#include "core/result.hpp"

namespace ferry {

// The HTTP/1.1 edge: accepts connections, parses requests, hands each one to an
// HttpHandler and writes back whatever it answers. It knows nothing of routes,
// auth or JSON beyond its own protocol errors, so it can be replaced (or the
// handlers tested) without the other.
//
// Promises:
// - One request in flight per connection: the next request (even one already
//   pipelined) is read only after the previous response was written.
// - Keep-alive as negotiated (HTTP/1.1 default, HTTP/1.0 only on request,
//   `Connection: close` honoured on either side).
// - Protocol errors are answered by the server itself and close the
//   connection; the handler never sees them: 413 payload_too_large,
//   431 headers_too_large, 400 bad_request, each as {"error":{"code","message"}}.
// - Timeouts: `idle_timeout` from the end of a response (or the accept) to the
//   first byte of the next request; `read_timeout` from that first byte to the
//   complete request (headers and body; a slow trickle is dropped); none while
//   the handler works; writing a response is bounded by `idle_timeout` (a
//   client that takes none of the response for that long is gone).
// - Never throws; errors come back as values.
//
// Threading: every public method is safe to call from any thread that is not
// one of the server's io threads (i.e. not from inside HttpHandler::handle);
// from an io thread, stop_accepting() does not wait and shutdown() only stops
// the listener.
class HttpServer {
 public:
  struct Config {
    std::string host = "127.0.0.1";  // IPv4/IPv6 literal ("::1" or "[::1]"), or a name; "" = 0.0.0.0
    std::uint16_t port = 0;          // 0 = any free port, see port()
    int threads = 2;                 // io threads; handlers run on them, so they must not block
    std::size_t max_body_bytes = 1024 * 1024;
    std::size_t max_header_bytes = 16 * 1024;  // request line + header fields
    std::chrono::seconds read_timeout{10};     // first byte of a request -> complete request
    std::chrono::seconds idle_timeout{60};     // keep-alive wait for the next request's first byte
    std::size_t max_connections = 10000;       // beyond: answered 503 and closed at once
    std::string server_header = "Ferry";
  };

  // Binds, listens and starts the io threads. A name resolving to several
  // addresses (e.g. "localhost") binds the first that works, IPv4 first.
  // Errors: bad_request for an invalid Config, unavailable when the host does
  // not resolve or the address cannot be bound (port in use, no permission).
  // `handler` must outlive the server.
  static Result<std::unique_ptr<HttpServer>> start(Config config, HttpHandler& handler);

  // Same as shutdown(0ms): connections still working are cut.
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the chosen one when Config::port was 0).
  std::uint16_t port() const;
  // The bound address and port: "127.0.0.1:8080", "[::1]:8080".
  std::string address() const;

  // Closes the listener: new connects are refused once this returns; existing
  // connections carry on. Idempotent.
  void stop_accepting();

  // Stops accepting, closes idle keep-alive connections at once, lets requests
  // already being received or handled finish and their responses be written
  // (each with `Connection: close`) for up to `grace`, then closes whatever is
  // left and joins the io threads. A response the handler gives after that is
  // dropped. Idempotent; blocks until done.
  void shutdown(std::chrono::milliseconds grace);

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry
