#include "core/signature.hpp"

#include <gtest/gtest.h>

#include "core/base64.hpp"

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
  EXPECT_FALSE(secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").ok());   // no prefix
  EXPECT_FALSE(secret_key("whsec_not*base64").ok());
  EXPECT_FALSE(secret_key("whsec_" + base64_encode("short")).ok());     // under 24 bytes
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
