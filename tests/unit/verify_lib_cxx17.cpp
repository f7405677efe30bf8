// include/ferry/verify.hpp promises receivers C++17. This program is built
// with -std=c++17 (tests/CMakeLists.txt) and the project's warnings, so a
// C++20 feature creeping into the header breaks the build. It also runs the
// specification's example once; verify_lib_test.cpp tests the behaviour.

#include <ferry/verify.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

static_assert(__cplusplus == 201703L, "this translation unit must be compiled as C++17");

namespace {

int failures = 0;

void expect(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  using ferry::verify::Status;
  using ferry::verify::Verifier;

  // The Standard Webhooks specification's example (see verify_lib_test.cpp).
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"Webhook-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek"},
      {"Webhook-Timestamp", "1614265330"},
      {"Webhook-Signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}};
  const std::string body = R"({"test": 2432232314})";
  const Verifier verifier("standard-webhooks", {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"});
  expect(verifier.setup().ok(), "the specification's secret is accepted");
  expect(verifier.verify(headers, body, 1614265330).ok(), "the specification's example verifies");
  expect(verifier.verify(headers, body, 1614265330 + 301).status == Status::timestamp_too_old,
         "a request over five minutes old is refused");
  expect(verifier.verify(headers, body).status == Status::timestamp_too_old, "the system clock is used by default");

  // The hex scheme, keyed with the whole secret string.
  const std::map<std::string, std::string> hex = {
      {"X-Pocketsflow-Signature", "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c"}};
  const Verifier pocketsflow("pocketsflow", {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"});
  expect(pocketsflow.verify(hex, body, 0).ok(), "the hex signature verifies");
  expect(!pocketsflow.verify(hex, body + " ", 0), "a tampered body is refused");

  expect(Verifier("nope", {"whsec_x"}).setup().status == Status::unknown_profile, "unknown profiles are reported");

  if (failures == 0) std::puts("verify.hpp: C++17 checks passed");
  return failures == 0 ? 0 : 1;
}
