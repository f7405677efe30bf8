#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/attempt.hpp"
#include "core/endpoint.hpp"
#include "core/message.hpp"
#include "core/result.hpp"

namespace ferry {

// How a message looks on the wire for one endpoint: envelope, headers and
// signature. Only the default profile, Standard Webhooks, exists so far.
inline constexpr std::string_view kStandardWebhooksProfile = "standard-webhooks";

struct WireProfileInfo {
  std::string name;
  std::string description;
};

const std::vector<WireProfileInfo>& builtin_wire_profiles();
bool is_known_wire_profile(std::string_view name);

struct WireRequest {
  HeaderList headers;
  std::string body;
};

// The request for `message` to `endpoint`, signed with each of the
// endpoint's secrets at `now_ms`. Pure.
Result<WireRequest> render_wire_request(const Message& message, const Endpoint& endpoint, UnixMillis now_ms,
                                        std::string_view user_agent);

// Whether a header's value may carry a credential and so must not be stored or logged.
bool is_sensitive_header(std::string_view lowercase_name);

}  // namespace ferry
