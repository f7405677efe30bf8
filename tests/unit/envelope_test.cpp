#include "core/envelope.hpp"

#include <gtest/gtest.h>

#include "core/endpoint.hpp"
#include "core/signature.hpp"
#include "core/wire_profile.hpp"

namespace ferry {
namespace {

Message sample_message() {
  Message message;
  message.id = "msg_1";
  message.workspace_id = "ws";
  message.type = "order.completed";
  message.payload = R"({"amount": 1.50, "items":[1,2 ,3]})";
  message.created_at_ms = 1'763'892'000'123;  // 2025-11-23T10:00:00.123Z
  return message;
}

TEST(Envelope, StandardWebhooksBodyKeepsThePayloadBytes) {
  EXPECT_EQ(
      standard_webhooks_envelope(sample_message()),
      R"({"type":"order.completed","timestamp":"2025-11-23T10:00:00.123Z","data":{"amount": 1.50, "items":[1,2 ,3]}})");
}

TEST(Envelope, TheStandardWebhooksProfileBuildsTheSameBody) {
  const Message message = sample_message();
  const Endpoint endpoint;
  const WireContext context{
      .message = message, .endpoint = endpoint, .delivery_id = "", .now_ms = 0, .default_user_agent = ""};
  auto body = render_envelope(standard_webhooks_profile(), context, message.id);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, standard_webhooks_envelope(message));
}

TEST(Envelope, WireTimestampsInEachFormat) {
  EXPECT_EQ(format_wire_timestamp(1'763'892'000'123, TimestampFormat::iso8601), "2025-11-23T10:00:00.123Z");
  EXPECT_EQ(format_wire_timestamp(1'763'892'000'123, TimestampFormat::epoch_ms), "1763892000123");
  EXPECT_EQ(format_wire_timestamp(1'763'892'000'999, TimestampFormat::epoch_s), "1763892000");
  EXPECT_EQ(format_wire_timestamp(-1, TimestampFormat::epoch_s), "-1");  // floor, not toward zero
}

TEST(Envelope, EscapesStrings) {
  std::string out;
  append_json_string(out, "a\"b\\c\n\x01");
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001")");
}

TEST(WireProfile, StandardWebhooksRequestIsSignedWithEverySecret) {
  Endpoint endpoint;
  endpoint.secrets = {generate_secret(), generate_secret()};
  endpoint.headers = {{"x-tenant", "acme"}};
  const Message message = sample_message();
  const UnixMillis now = 1'763'892'005'999;
  auto request = render_wire_request(message, endpoint, now, "Ferry/test");
  ASSERT_TRUE(request.ok());
  auto header = [&](std::string_view name) {
    for (const auto& [key, value] : request->headers) {
      if (key == name) return value;
    }
    return std::string();
  };
  EXPECT_EQ(header("content-type"), "application/json");
  EXPECT_EQ(header("user-agent"), "Ferry/test");
  EXPECT_EQ(header("webhook-id"), "msg_1");
  EXPECT_EQ(header("webhook-timestamp"), "1763892005");
  EXPECT_EQ(header("x-tenant"), "acme");
  EXPECT_EQ(request->body, standard_webhooks_envelope(message));
  for (const auto& secret : endpoint.secrets) {
    EXPECT_TRUE(
        verify_standard_webhooks(*secret_key(secret), "msg_1", 1763892005, request->body, header("webhook-signature")));
  }
}

TEST(WireProfile, SensitiveHeadersAreRecognised) {
  EXPECT_TRUE(is_sensitive_header("authorization"));
  EXPECT_TRUE(is_sensitive_header("x-api-key"));
  EXPECT_FALSE(is_sensitive_header("x-tenant"));
}

}  // namespace
}  // namespace ferry
