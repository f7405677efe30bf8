#include "core/signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <array>

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

}  // namespace ferry
