#include "core/portal_token.hpp"

#include <gtest/gtest.h>

namespace ferry {
namespace {

const std::string kKey = portal_signing_key("adm_root");

TEST(PortalToken, RoundTripsItsGrantUntilItExpires) {
  const std::string token = mint_portal_token(kKey, {"ws_a.b-c", 1000});
  EXPECT_TRUE(token.starts_with("fpt_"));
  auto grant = read_portal_token(kKey, token, 999);
  ASSERT_TRUE(grant) << grant.error().message;
  EXPECT_EQ(grant->workspace_id, "ws_a.b-c");
  EXPECT_EQ(grant->expires_at_s, 1000);
  auto expired = read_portal_token(kKey, token, 1000);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, ErrorCode::unauthorized);
  EXPECT_NE(expired.error().message.find("expired"), std::string::npos);
}

TEST(PortalToken, AnotherKeyOrAnyChangedCharacterIsRefused) {
  const std::string token = mint_portal_token(kKey, {"ws_1", 5000});
  EXPECT_FALSE(read_portal_token(portal_signing_key("adm_other"), token, 1));
  for (std::size_t i = 4; i < token.size(); ++i) {
    std::string changed = token;
    changed[i] = changed[i] == 'a' ? 'b' : 'a';
    if (changed == token) continue;
    EXPECT_FALSE(read_portal_token(kKey, changed, 1)) << "position " << i;
  }
}

TEST(PortalToken, AForgedPayloadCannotWidenTheGrant) {
  // Someone who holds a link for ws_1 swaps in another workspace or a later
  // expiry: the signature no longer matches.
  const std::string token = mint_portal_token(kKey, {"ws_1", 5000});
  const std::string other = mint_portal_token(kKey, {"ws_2", 9000});
  const auto mac = token.substr(token.rfind('_'));
  const auto forged = other.substr(0, other.rfind('_')) + mac;
  EXPECT_FALSE(read_portal_token(kKey, forged, 1));
}

TEST(PortalToken, MalformedTokensAreRefusedWithoutDetail) {
  for (const std::string bad : {"", "fpt_", "fpt_zz_zz", "fpt_00", "fk_123", "fpt_6869_", "fpt__00"}) {
    auto read = read_portal_token(kKey, bad, 1);
    ASSERT_FALSE(read) << bad;
    EXPECT_EQ(read.error().message, "invalid portal token") << bad;
  }
}

TEST(PortalToken, TheSigningKeyIsNotTheRootSecret) {
  EXPECT_NE(portal_signing_key("adm_root"), "adm_root");
  EXPECT_EQ(portal_signing_key("adm_root"), portal_signing_key("adm_root"));
}

}  // namespace
}  // namespace ferry
