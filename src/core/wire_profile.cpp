#include "core/wire_profile.hpp"

#include <algorithm>

#include "core/envelope.hpp"
#include "core/signature.hpp"

namespace ferry {

const std::vector<WireProfileInfo>& builtin_wire_profiles() {
  static const std::vector<WireProfileInfo> profiles = {
      {std::string(kStandardWebhooksProfile),
       "Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature (v1, HMAC-SHA256, base64); "
       "body {\"type\",\"timestamp\",\"data\"}"},
  };
  return profiles;
}

bool is_known_wire_profile(std::string_view name) {
  const auto& profiles = builtin_wire_profiles();
  return std::any_of(profiles.begin(), profiles.end(), [name](const auto& profile) { return profile.name == name; });
}

Result<WireRequest> render_wire_request(const Message& message, const Endpoint& endpoint, UnixMillis now_ms,
                                        std::string_view user_agent) {
  std::vector<std::string> keys;
  keys.reserve(endpoint.secrets.size());
  for (const auto& secret : endpoint.secrets) {
    auto key = secret_key(secret);
    if (!key) return key.error();
    keys.push_back(std::move(*key));
  }
  WireRequest request;
  request.body = standard_webhooks_envelope(message);
  const long long timestamp = now_ms / 1000;
  request.headers = {
      {"content-type", "application/json"},
      {"user-agent", std::string(user_agent)},
      {"webhook-id", message.id},
      {"webhook-timestamp", std::to_string(timestamp)},
      {"webhook-signature", standard_webhooks_signature_header(keys, message.id, timestamp, request.body)},
  };
  for (const auto& header : endpoint.headers) request.headers.push_back(header);
  return request;
}

bool is_sensitive_header(std::string_view name) {
  static constexpr std::string_view kNames[] = {"authorization", "proxy-authorization", "cookie"};
  static constexpr std::string_view kParts[] = {"token", "secret", "key", "password", "auth"};
  for (auto exact : kNames) {
    if (name == exact) return true;
  }
  for (auto part : kParts) {
    if (name.find(part) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace ferry
