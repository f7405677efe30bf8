#include "core/portal_token.hpp"

#include <charconv>

#include "core/ids.hpp"
#include "core/signature.hpp"

namespace ferry {

namespace {

constexpr std::string_view kVersion = "v1";
constexpr std::string_view kKeyLabel = "ferry customer portal tokens v1";

Error invalid() { return make_error(ErrorCode::unauthorized, "invalid portal token"); }

}  // namespace

std::string portal_signing_key(std::string_view root_secret) { return hmac_sha256(root_secret, kKeyLabel); }

std::string mint_portal_token(std::string_view signing_key, const PortalGrant& grant) {
  const std::string payload =
      std::string(kVersion) + "\n" + grant.workspace_id + "\n" + std::to_string(grant.expires_at_s);
  return std::string(kPortalTokenPrefix) + to_hex(payload) + "_" + hmac_sha256_hex(signing_key, payload);
}

Result<PortalGrant> read_portal_token(std::string_view signing_key, std::string_view token, long long now_s) {
  if (!token.starts_with(kPortalTokenPrefix)) return invalid();
  token.remove_prefix(kPortalTokenPrefix.size());
  const auto separator = token.find('_');
  if (separator == std::string_view::npos) return invalid();
  const std::optional<std::string> decoded = from_hex(token.substr(0, separator));
  const std::string_view mac_hex = token.substr(separator + 1);
  if (!decoded) return invalid();
  const std::string& payload = *decoded;
  // The signature first: nothing of an unsigned payload is believed. Comparing
  // the hex spelling is exact, as to_hex has only one.
  if (!constant_time_equals(mac_hex, hmac_sha256_hex(signing_key, payload))) return invalid();
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
