#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace ferry {

// Standard Webhooks signing (https://www.standardwebhooks.com/):
//   webhook-signature: v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>
// where key is the base64-decoded part of the secret after "whsec_".

inline constexpr std::string_view kSecretPrefix = "whsec_";
inline constexpr std::size_t kMinSecretBytes = 24;
inline constexpr std::size_t kMaxSecretBytes = 64;

// A new secret: "whsec_" + base64 of 32 random bytes.
std::string generate_secret();

// The HMAC key of a "whsec_…" secret; unprocessable if it is not one, or its
// key is shorter than 24 or longer than 64 bytes.
Result<std::string> secret_key(std::string_view secret);

// Raw HMAC-SHA256.
std::string hmac_sha256(std::string_view key, std::string_view data);
// Lowercase hex SHA-256.
std::string sha256_hex(std::string_view data);

// "v1,<base64 signature>" for one key.
std::string standard_webhooks_signature(std::string_view key, std::string_view message_id, long long timestamp_seconds,
                                        std::string_view body);

// The value of the webhook-signature header: one "v1,…" per key, space-separated.
std::string standard_webhooks_signature_header(std::span<const std::string> keys, std::string_view message_id,
                                               long long timestamp_seconds, std::string_view body);

// True when any "v1,…" entry of `signature_header` matches for `key`
// (constant-time comparison).
bool verify_standard_webhooks(std::string_view key, std::string_view message_id, long long timestamp_seconds,
                              std::string_view body, std::string_view signature_header);

// Constant-time equality of two byte strings.
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace ferry
