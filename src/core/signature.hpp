#pragma once

#include <optional>
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

// The schemes of GitHub-style and Stripe-style receivers. Their HMAC key is
// the secret string exactly as the customer sees it ("whsec_…" included),
// because that is what those receivers' code passes to its HMAC function.

// Lowercase hex HMAC-SHA256 of `data`.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// True when `signature_hex` (either case) is the hex HMAC-SHA256 of `body`
// under `key` (constant-time comparison).
bool verify_hmac_sha256_hex(std::string_view key, std::string_view body, std::string_view signature_hex);

// The Stripe-Signature form: "t=<timestamp>,v1=<hex HMAC-SHA256 of "{t}.{body}">"
// with one ",v1=…" per key, in the order given (newest secret first).
std::string stripe_signature_header(std::span<const std::string> keys, long long timestamp_seconds,
                                    std::string_view body);

struct StripeSignature {
  long long timestamp_seconds = 0;
  std::vector<std::string> v1;  // the hex signatures, in header order
};

// Reads a Stripe-style header; nullopt when it has no valid "t=" or no
// "v1=". Entries of other schemes ("v0=…") are skipped, as Stripe's
// libraries do.
std::optional<StripeSignature> parse_stripe_signature_header(std::string_view header);

// True when any "v1=" entry of `header` is the signature of "{t}.{body}"
// under `key`, with t taken from the header (constant-time comparison). How
// old t may be is the receiver's policy and is not checked here.
bool verify_stripe_signature(std::string_view key, std::string_view body, std::string_view header);

}  // namespace ferry
