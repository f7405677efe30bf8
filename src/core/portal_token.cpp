#include "core/portal_token.hpp"

#include <charconv>

#include "core/signature.hpp"

namespace ferry {

namespace {

constexpr std::string_view kVersion = "v1";
constexpr std::string_view kKeyLabel = "ferry customer portal tokens v1";

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char byte : bytes) {
    const auto u = static_cast<unsigned char>(byte);
    out.push_back(kDigits[u >> 4]);
    out.push_back(kDigits[u & 0x0f]);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool from_hex(std::string_view hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  out.clear();
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = hex_value(hex[i]);
    const int low = hex_value(hex[i + 1]);
    if (high < 0 || low < 0) return false;
    out.push_back(static_cast<char>(high * 16 + low));
  }
  return true;
}

Error invalid() { return make_error(ErrorCode::unauthorized, "invalid portal token"); }

}  // namespace

std::string portal_signing_key(std::string_view root_secret) { return hmac_sha256(root_secret, kKeyLabel); }

std::string mint_portal_token(std::string_view signing_key, const PortalGrant& grant) {
  const std::string payload =
      std::string(kVersion) + "\n" + grant.workspace_id + "\n" + std::to_string(grant.expires_at_s);
  return std::string(kPortalTokenPrefix) + to_hex(payload) + "_" + to_hex(hmac_sha256(signing_key, payload));
}

Result<PortalGrant> read_portal_token(std::string_view signing_key, std::string_view token, long long now_s) {
  if (!token.starts_with(kPortalTokenPrefix)) return invalid();
  token.remove_prefix(kPortalTokenPrefix.size());
  const auto separator = token.find('_');
  if (separator == std::string_view::npos) return invalid();
  std::string payload;
  std::string mac;
  if (!from_hex(token.substr(0, separator), payload) || !from_hex(token.substr(separator + 1), mac)) return invalid();
  // The signature first: nothing of an unsigned payload is believed.
  if (!constant_time_equals(mac, hmac_sha256(signing_key, payload))) return invalid();
  const auto first = payload.find('\n');
  const auto second = first == std::string::npos ? std::string::npos : payload.find('\n', first + 1);
  if (second == std::string::npos || payload.substr(0, first) != kVersion) return invalid();
  PortalGrant grant;
  grant.workspace_id = payload.substr(first + 1, second - first - 1);
  const std::string_view expiry = std::string_view(payload).substr(second + 1);
  const auto [end, ec] = std::from_chars(expiry.data(), expiry.data() + expiry.size(), grant.expires_at_s);
  if (ec != std::errc() || end != expiry.data() + expiry.size() || grant.workspace_id.empty()) return invalid();
  if (now_s >= grant.expires_at_s) return make_error(ErrorCode::unauthorized, "the portal link has expired");
  return grant;
}

}  // namespace ferry
