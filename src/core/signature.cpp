#include "core/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <array>
#include <cctype>
#include <charconv>

#include "core/base64.hpp"
#include "core/ids.hpp"

namespace ferry {

std::string generate_secret() {
  std::array<unsigned char, 32> key{};
  random_bytes(key.data(), key.size());
  return std::string(kSecretPrefix) + base64_encode(std::string_view(reinterpret_cast<char*>(key.data()), key.size()));
}

Result<std::string> secret_key(std::string_view secret) {
  if (!secret.starts_with(kSecretPrefix)) {
    return make_error(ErrorCode::unprocessable, "secret must start with \"whsec_\"");
  }
  auto key = base64_decode(secret.substr(kSecretPrefix.size()));
  if (!key) return make_error(ErrorCode::unprocessable, "secret is not valid base64 after \"whsec_\"");
  if (key->size() < kMinSecretBytes || key->size() > kMaxSecretBytes) {
    return make_error(ErrorCode::unprocessable, "secret must encode between 24 and 64 bytes");
  }
  return std::move(*key);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest.data(), &size);
  return std::string(reinterpret_cast<char*>(digest.data()), size);
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
  return to_hex(std::string_view(reinterpret_cast<char*>(digest.data()), digest.size()));
}

namespace {
std::string signed_content(std::string_view message_id, long long timestamp_seconds, std::string_view body) {
  std::string content;
  content.reserve(message_id.size() + body.size() + 24);
  content.append(message_id).push_back('.');
  content.append(std::to_string(timestamp_seconds)).push_back('.');
  content.append(body);
  return content;
}
}  // namespace

std::string standard_webhooks_signature(std::string_view key, std::string_view message_id, long long timestamp_seconds,
                                        std::string_view body) {
  return "v1," + base64_encode(hmac_sha256(key, signed_content(message_id, timestamp_seconds, body)));
}

std::string standard_webhooks_signature_header(std::span<const std::string> keys, std::string_view message_id,
                                               long long timestamp_seconds, std::string_view body) {
  const std::string content = signed_content(message_id, timestamp_seconds, body);
  std::string header;
  for (const auto& key : keys) {
    if (!header.empty()) header.push_back(' ');
    header += "v1," + base64_encode(hmac_sha256(key, content));
  }
  return header;
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool verify_standard_webhooks(std::string_view key, std::string_view message_id, long long timestamp_seconds,
                              std::string_view body, std::string_view signature_header) {
  const std::string expected = standard_webhooks_signature(key, message_id, timestamp_seconds, body);
  bool matched = false;
  while (!signature_header.empty()) {
    const std::size_t space = signature_header.find(' ');
    const std::string_view entry = signature_header.substr(0, space);
    // Compare every entry so the time taken does not reveal which one matched.
    matched = constant_time_equals(entry, expected) || matched;
    if (space == std::string_view::npos) break;
    signature_header.remove_prefix(space + 1);
  }
  return matched;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) { return to_hex(hmac_sha256(key, data)); }

bool verify_hmac_sha256_hex(std::string_view key, std::string_view body, std::string_view signature_hex) {
  std::string given(signature_hex);
  for (auto& c : given) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return constant_time_equals(given, hmac_sha256_hex(key, body));
}

namespace {
std::string stripe_signed_content(long long timestamp_seconds, std::string_view body) {
  std::string content = std::to_string(timestamp_seconds);
  content.push_back('.');
  content.append(body);
  return content;
}
}  // namespace

std::string stripe_signature_header(std::span<const std::string> keys, long long timestamp_seconds,
                                    std::string_view body) {
  const std::string content = stripe_signed_content(timestamp_seconds, body);
  std::string header = "t=" + std::to_string(timestamp_seconds);
  for (const auto& key : keys) header += ",v1=" + hmac_sha256_hex(key, content);
  return header;
}

std::optional<StripeSignature> parse_stripe_signature_header(std::string_view header) {
  StripeSignature signature;
  bool has_timestamp = false;
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view entry = header.substr(0, comma);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.starts_with("t=")) {
      const std::string_view digits = entry.substr(2);
      const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), signature.timestamp_seconds);
      if (digits.empty() || parsed.ec != std::errc() || parsed.ptr != digits.data() + digits.size())
        return std::nullopt;
      has_timestamp = true;
    } else if (entry.starts_with("v1=")) {
      signature.v1.emplace_back(entry.substr(3));
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  if (!has_timestamp || signature.v1.empty()) return std::nullopt;
  return signature;
}

bool verify_stripe_signature(std::string_view key, std::string_view body, std::string_view header) {
  const auto signature = parse_stripe_signature_header(header);
  if (!signature) return false;
  const std::string expected = hmac_sha256_hex(key, stripe_signed_content(signature->timestamp_seconds, body));
  bool matched = false;
  for (const auto& candidate : signature->v1) {
    // Compare every entry so the time taken does not reveal which one matched.
    matched = constant_time_equals(candidate, expected) || matched;
  }
  return matched;
}

}  // namespace ferry
