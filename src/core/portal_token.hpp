#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ferry {

// A customer-portal link's token: it lets whoever holds it see and manage one
// workspace's endpoints, logs and test events until it expires, and nothing
// else. It is self-contained (the workspace and the expiry, signed with
// HMAC-SHA256), so every node checks it without a store read and nothing is
// kept per link; changing the signing key (the admin token) revokes them all.
//
//   fpt_<hex of "v1\n{workspace}\n{expires unix seconds}">_<hex HMAC-SHA256 of that>
inline constexpr std::string_view kPortalTokenPrefix = "fpt_";

struct PortalGrant {
  std::string workspace_id;
  long long expires_at_s = 0;
};

// The HMAC key for portal tokens, derived from `root_secret` (the admin
// token) so the tokens' key is never the admin token itself.
std::string portal_signing_key(std::string_view root_secret);

std::string mint_portal_token(std::string_view signing_key, const PortalGrant& grant);

// The grant of a valid, unexpired token; unauthorized otherwise (one message
// for every way of being wrong but expiry, so forgeries learn nothing).
Result<PortalGrant> read_portal_token(std::string_view signing_key, std::string_view token, long long now_s);

}  // namespace ferry
