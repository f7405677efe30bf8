#pragma once

#include <string>
#include <vector>

namespace ferry {

// What the receiving commands verify against: the endpoint's secret (or
// several during a rotation) and the wire profile it is sent with.
struct SignatureCheck {
  std::vector<std::string> secrets;
  std::string profile = "standard-webhooks";
  std::vector<std::string> profile_files;  // custom profiles `profile` may name
  std::string tolerance = "5m";            // how far the signed time may be from now
};

// `ferry verify`: checks one saved request.
struct VerifySettings {
  SignatureCheck check;
  std::string request_file;  // a raw HTTP request: request line, headers, blank line, body
  std::string headers_file;  // or "Name: value" lines...
  std::string body_file;     // ...and the body's exact bytes
  bool ignore_age = false;   // a request saved long ago: check the signature only
};

// `ferry listen`: a local receiver that verifies and prints each request,
// optionally passing the verified ones on.
struct ListenSettings {
  SignatureCheck check;
  std::string listen = "127.0.0.1:9000";
  std::string forward_to;  // URL; its answer becomes the answer to Ferry
  bool json = false;       // one JSON object per request on stdout
};

// Exit codes: 0 verified (verify) or stopped by a signal (listen), 1 not
// verified or could not listen, 2 bad input.
int run_verify(const VerifySettings& settings);
int run_listen(const ListenSettings& settings);

}  // namespace ferry
