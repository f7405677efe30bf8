#include "core/signature.hpp"

#include <gtest/gtest.h>

#include <cctype>

#include "core/base64.hpp"
#include "core/ids.hpp"

namespace ferry {
namespace {

// The example of the Standard Webhooks specification and its reference libraries.
constexpr std::string_view kSpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kSpecMessageId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr long long kSpecTimestamp = 1614265330;
constexpr std::string_view kSpecBody = R"({"test": 2432232314})";
constexpr std::string_view kSpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(StandardWebhooksSignature, MatchesTheSpecificationExample) {
  auto key = secret_key(kSpecSecret);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(standard_webhooks_signature(*key, kSpecMessageId, kSpecTimestamp, kSpecBody), kSpecSignature);
}

TEST(StandardWebhooksSignature, VerifiesTheSpecificationExampleAmongOthers) {
  auto key = secret_key(kSpecSecret);
  ASSERT_TRUE(key.ok());
  const std::string header = "v1,bm90IGl0 " + std::string(kSpecSignature) + " v2,whatever";
  EXPECT_TRUE(verify_standard_webhooks(*key, kSpecMessageId, kSpecTimestamp, kSpecBody, header));
  EXPECT_FALSE(verify_standard_webhooks(*key, kSpecMessageId, kSpecTimestamp + 1, kSpecBody, header));
  EXPECT_FALSE(verify_standard_webhooks(*key, kSpecMessageId, kSpecTimestamp, R"({"test": 2432232315})", header));
  EXPECT_FALSE(verify_standard_webhooks(*key, "msg_other", kSpecTimestamp, kSpecBody, header));
}

TEST(StandardWebhooksSignature, HeaderCarriesOneSignaturePerSecret) {
  auto first = secret_key(kSpecSecret);
  auto second = secret_key(generate_secret());
  ASSERT_TRUE(first.ok() && second.ok());
  const std::vector<std::string> keys = {*second, *first};
  const std::string header = standard_webhooks_signature_header(keys, kSpecMessageId, kSpecTimestamp, kSpecBody);
  EXPECT_EQ(header.substr(header.find(' ') + 1), kSpecSignature);
  EXPECT_TRUE(verify_standard_webhooks(*second, kSpecMessageId, kSpecTimestamp, kSpecBody, header));
}

// Computed independently with Python's hmac module, keyed with the secret
// string itself (as GitHub- and Stripe-style receivers key it).
constexpr std::string_view kSpecBodyHex = "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c";
constexpr std::string_view kSpecStripeHex = "2e37df5d4a028c51a7f3133d64ae1e300d2c2c900f1b1d49d4369ad2530f8964";

TEST(HexSignature, MatchesRfc4231AndAnIndependentComputation) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256_hex(kSpecSecret, kSpecBody), kSpecBodyHex);
}

TEST(HexSignature, VerifiesInEitherCaseAndRefusesOthers) {
  std::string upper(kSpecBodyHex);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(verify_hmac_sha256_hex(kSpecSecret, kSpecBody, kSpecBodyHex));
  EXPECT_TRUE(verify_hmac_sha256_hex(kSpecSecret, kSpecBody, upper));
  EXPECT_FALSE(verify_hmac_sha256_hex(kSpecSecret, R"({"test": 2432232315})", kSpecBodyHex));
  EXPECT_FALSE(verify_hmac_sha256_hex(generate_secret(), kSpecBody, kSpecBodyHex));
  EXPECT_FALSE(verify_hmac_sha256_hex(kSpecSecret, kSpecBody, kSpecBodyHex.substr(0, 63)));
  EXPECT_FALSE(verify_hmac_sha256_hex(kSpecSecret, kSpecBody, ""));
}

TEST(StripeSignature, HeaderHasTheTimestampThenOneV1PerSecretNewestFirst) {
  const std::string older = generate_secret();
  const std::vector<std::string> secrets = {std::string(kSpecSecret), older};
  const std::string header = stripe_signature_header(secrets, kSpecTimestamp, kSpecBody);
  const std::string content = std::to_string(kSpecTimestamp) + "." + std::string(kSpecBody);
  EXPECT_EQ(header, "t=1614265330,v1=" + std::string(kSpecStripeHex) + ",v1=" + to_hex(hmac_sha256(older, content)));
  auto parsed = parse_stripe_signature_header(header);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->timestamp_seconds, kSpecTimestamp);
  ASSERT_EQ(parsed->v1.size(), 2u);
  EXPECT_EQ(parsed->v1[0], kSpecStripeHex);
}

TEST(StripeSignature, VerifiesWithEverySecretAndRefusesTampering) {
  const std::string older = generate_secret();
  const std::vector<std::string> secrets = {std::string(kSpecSecret), older};
  const std::string header = stripe_signature_header(secrets, kSpecTimestamp, kSpecBody);
  EXPECT_TRUE(verify_stripe_signature(kSpecSecret, kSpecBody, header));
  EXPECT_TRUE(verify_stripe_signature(older, kSpecBody, header));
  EXPECT_FALSE(verify_stripe_signature(generate_secret(), kSpecBody, header));
  EXPECT_FALSE(verify_stripe_signature(kSpecSecret, R"({"test": 2432232315})", header));
  // A replayed signature under a fresh timestamp must not pass.
  std::string moved = header;
  moved.replace(0, std::string("t=1614265330").size(), "t=1614265331");
  EXPECT_FALSE(verify_stripe_signature(kSpecSecret, kSpecBody, moved));
}

TEST(StripeSignature, ParsingSkipsOtherSchemesAndRefusesIncompleteHeaders) {
  const std::string header = "t=1614265330, v0=abc ,v1=" + std::string(kSpecStripeHex);
  EXPECT_TRUE(verify_stripe_signature(kSpecSecret, kSpecBody, header));
  EXPECT_FALSE(parse_stripe_signature_header("v1=" + std::string(kSpecStripeHex)).has_value());  // no t
  EXPECT_FALSE(parse_stripe_signature_header("t=1614265330").has_value());                       // no v1
  EXPECT_FALSE(parse_stripe_signature_header("t=16142x,v1=ab").has_value());
  EXPECT_FALSE(parse_stripe_signature_header("").has_value());
  EXPECT_FALSE(verify_stripe_signature(kSpecSecret, kSpecBody, "garbage"));
}

TEST(Secrets, GeneratedSecretsAreWhsecWith32RandomBytes) {
  const std::string a = generate_secret();
  const std::string b = generate_secret();
  EXPECT_NE(a, b);
  ASSERT_TRUE(a.starts_with("whsec_"));
  auto key = secret_key(a);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->size(), 32u);
}

TEST(Secrets, RejectsMalformedSecrets) {
  EXPECT_FALSE(secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").ok());  // no prefix
  EXPECT_FALSE(secret_key("whsec_not*base64").ok());
  EXPECT_FALSE(secret_key("whsec_" + base64_encode("short")).ok());  // under 24 bytes
  EXPECT_FALSE(secret_key("whsec_" + base64_encode(std::string(65, 'x'))).ok());
  EXPECT_TRUE(secret_key("whsec_" + base64_encode(std::string(24, 'x'))).ok());
}

TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto decoded = base64_decode(base64_encode(text));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, text);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(base64_decode("Zm9=YmFy").has_value());
  EXPECT_FALSE(base64_decode("Zm9vY").has_value());
}

TEST(Hashing, Sha256HexOfKnownInput) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(constant_time_equals("same", "same"));
  EXPECT_FALSE(constant_time_equals("same", "sane"));
  EXPECT_FALSE(constant_time_equals("same", "samey"));
}

}  // namespace
}  // namespace ferry
