#include "core/wire_profile.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/base64.hpp"
#include "core/envelope.hpp"
#include "core/ids.hpp"
#include "core/signature.hpp"

namespace ferry {
namespace {

constexpr std::string_view kMessageId = "msg_01JDZQ6V3XK2T9E8R7M5N4P3AB";
constexpr UnixMillis kEventMs = 1'763'892'000'123;  // 2025-11-23T10:00:00.123Z
constexpr UnixMillis kNowMs = 1'763'892'005'999;    // sent 5.876 s later
constexpr long long kSendSeconds = 1'763'892'005;
constexpr std::string_view kNewestSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// The order.completed example of Pocketsflow's documentation, as a producer
// would publish its data (unusual spacing kept: it must survive).
constexpr std::string_view kOrderPayload =
    R"({"product": {"id": "prod_456def", "variantId": null}, "order":{"id":"order_xyz123"},)"
    R"( "currency":"usd","amount":64.99, "amountBeforeTax": 60.00, "metadata":{"customField":"value"}})";

Message make_message(std::string_view payload = R"({"amount": 1.50, "items":[1,2 ,3]})") {
  Message message;
  message.id = std::string(kMessageId);
  message.workspace_id = "ws_acme";
  message.type = "order.completed";
  message.payload = std::string(payload);
  message.created_at_ms = kEventMs;
  return message;
}

Endpoint make_endpoint() {
  Endpoint endpoint;
  endpoint.id = "ep_01JDZQ7000000000000000000";
  endpoint.workspace_id = "ws_acme";
  endpoint.secrets = {std::string(kNewestSecret), "whsec_" + base64_encode(std::string(32, 'o'))};
  endpoint.headers = {{"x-tenant", "acme"}};
  return endpoint;
}

const WireProfile& builtin(std::string_view name) {
  const WireProfile* profile = find_builtin_profile(name);
  EXPECT_NE(profile, nullptr) << name;
  return profile != nullptr ? *profile : standard_webhooks_profile();
}

WireRequest render(const WireProfile& profile, const Message& message, const Endpoint& endpoint,
                   std::string_view delivery_id = "dl_01JDZQ8000000000000000000") {
  const WireContext context{
      .message = message,
      .endpoint = endpoint,
      .delivery_id = delivery_id,
      .now_ms = kNowMs,
      .default_user_agent = "Ferry/test",
  };
  auto request = render_wire_request(profile, context);
  EXPECT_TRUE(request.ok()) << (request.ok() ? "" : request.error().message);
  return request.ok() ? std::move(*request) : WireRequest{};
}

std::vector<std::string> header_names(const WireRequest& request) {
  std::vector<std::string> names;
  for (const auto& header : request.headers) names.push_back(header.first);
  return names;
}

std::string header(const WireRequest& request, std::string_view name) {
  std::string value;
  int found = 0;
  for (const auto& [key, text] : request.headers) {
    if (key == name) {
      value = text;
      ++found;
    }
  }
  EXPECT_EQ(found, 1) << name;
  return value;
}

// ---- The built-ins, request by request

TEST(WireProfileBuiltins, AreTheSixProductsInOrder) {
  std::vector<std::string> names;
  for (const auto& profile : builtin_profiles()) names.push_back(profile.name);
  EXPECT_EQ(names, (std::vector<std::string>{"standard-webhooks", "pocketflows", "heyoo", "customer-engagement",
                                             "pocketsflow", "penguinmails"}));
  for (const auto& profile : builtin_profiles()) {
    EXPECT_TRUE(validate_wire_profile(profile).ok()) << profile.name;
    EXPECT_FALSE(profile.description.empty()) << profile.name;
  }
  // The text they come from parses without help from the abort guard.
  auto parsed = parse_wire_profiles(builtin_profiles_json());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, builtin_profiles());
}

TEST(WireProfileBuiltins, StandardWebhooksIsTodaysRequest) {
  const Message message = make_message();
  const Endpoint endpoint = make_endpoint();
  const WireRequest request = render(builtin("standard-webhooks"), message, endpoint);
  EXPECT_EQ(
      request.body,
      R"({"type":"order.completed","timestamp":"2025-11-23T10:00:00.123Z","data":{"amount": 1.50, "items":[1,2 ,3]}})");
  EXPECT_EQ(request.body, standard_webhooks_envelope(message));
  EXPECT_EQ(header_names(request), (std::vector<std::string>{"content-type", "user-agent", "webhook-id",
                                                             "webhook-timestamp", "webhook-signature", "x-tenant"}));
  EXPECT_EQ(header(request, "content-type"), "application/json");
  EXPECT_EQ(header(request, "user-agent"), "Ferry/test");
  EXPECT_EQ(header(request, "webhook-id"), kMessageId);
  EXPECT_EQ(header(request, "webhook-timestamp"), "1763892005");
  EXPECT_EQ(header(request, "x-tenant"), "acme");
  std::vector<std::string> keys;
  for (const auto& secret : endpoint.secrets) keys.push_back(*secret_key(secret));
  EXPECT_EQ(header(request, "webhook-signature"),
            standard_webhooks_signature(keys[0], kMessageId, kSendSeconds, request.body) + " " +
                standard_webhooks_signature(keys[1], kMessageId, kSendSeconds, request.body));
}

TEST(WireProfileBuiltins, TheOldEntryPointRendersTheEndpointsProfile) {
  const Message message = make_message(kOrderPayload);
  Endpoint endpoint = make_endpoint();
  for (std::string name : {"standard-webhooks", "pocketsflow", "penguinmails"}) {
    endpoint.profile = name;
    auto old = render_wire_request(message, endpoint, kNowMs, "Ferry/test");
    ASSERT_TRUE(old.ok()) << name;
    const WireRequest now = render(builtin(name), message, endpoint, "");
    EXPECT_EQ(old->body, now.body) << name;
    EXPECT_EQ(old->headers, now.headers) << name;
  }
  // An empty or unknown name falls back to Standard Webhooks.
  for (std::string name : {"", "no-such-profile"}) {
    endpoint.profile = name;
    auto old = render_wire_request(message, endpoint, kNowMs, "Ferry/test");
    ASSERT_TRUE(old.ok());
    EXPECT_EQ(old->body, standard_webhooks_envelope(message));
  }
}

TEST(WireProfileBuiltins, CustomHeadersNeverDuplicateTheProfilesOwn) {
  const Message message = make_message(R"({"n":1})");
  Endpoint endpoint = make_endpoint();
  endpoint.headers = {{"X-PenguinMails-Signature", "forged"}, {"User-Agent", "mine"}, {"x-tenant", "acme"}};
  const WireRequest request = render(builtin("penguinmails"), message, endpoint);
  EXPECT_EQ(header(request, "X-PenguinMails-Signature"), hmac_sha256_hex(kNewestSecret, request.body));
  EXPECT_EQ(header(request, "user-agent"), "PenguinMails-Webhooks/1.0");
  EXPECT_EQ(header(request, "x-tenant"), "acme");
  for (const auto& [name, value] : request.headers) EXPECT_NE(value, "forged") << name;
}

TEST(WireProfileBuiltins, Pocketflows) {
  const Message message = make_message(R"({"id": "camp_1", "name": "Spring"})");
  const Endpoint endpoint = make_endpoint();
  const WireRequest request = render(builtin("pocketflows"), message, endpoint);
  EXPECT_EQ(
      request.body,
      R"({"id":"pe_01JDZQ6V3XK2T9E8R7M5N4P3AB","type":"order.completed","data":{"id": "camp_1", "name": "Spring"}})");
  EXPECT_EQ(header_names(request), (std::vector<std::string>{"content-type", "user-agent", "webhook-id",
                                                             "webhook-timestamp", "webhook-signature", "x-tenant"}));
  EXPECT_EQ(header(request, "webhook-id"), "pe_01JDZQ6V3XK2T9E8R7M5N4P3AB");
  // Signed over the id the receiver sees.
  for (const auto& secret : endpoint.secrets) {
    EXPECT_TRUE(verify_standard_webhooks(*secret_key(secret), "pe_01JDZQ6V3XK2T9E8R7M5N4P3AB", kSendSeconds,
                                         request.body, header(request, "webhook-signature")));
  }
}

TEST(WireProfileBuiltins, Heyoo) {
  const Message message = make_message(R"({"campaign_id":"c_1"})");
  const WireRequest request = render(builtin("heyoo"), message, make_endpoint());
  EXPECT_EQ(request.body, R"({"id":"evt_01JDZQ6V3XK2T9E8R7M5N4P3AB","event":"order.completed",)"
                          R"("timestamp":"2025-11-23T10:00:00.123Z","data":{"campaign_id":"c_1"}})");
  EXPECT_EQ(header(request, "webhook-id"), "evt_01JDZQ6V3XK2T9E8R7M5N4P3AB");
  EXPECT_TRUE(verify_standard_webhooks(*secret_key(kNewestSecret), "evt_01JDZQ6V3XK2T9E8R7M5N4P3AB", kSendSeconds,
                                       request.body, header(request, "webhook-signature")));
}

TEST(WireProfileBuiltins, CustomerEngagementIsStandardWebhooks) {
  const Message message = make_message(R"({"workspace_id":"__org__","contact_id":"c_1"})");
  const Endpoint endpoint = make_endpoint();
  const WireRequest request = render(builtin("customer-engagement"), message, endpoint);
  const WireRequest standard = render(builtin("standard-webhooks"), message, endpoint);
  EXPECT_EQ(request.body, standard.body);
  EXPECT_EQ(request.headers, standard.headers);
}

TEST(WireProfileBuiltins, PocketsflowIsFlatWithHexSignature) {
  const Message message = make_message(kOrderPayload);
  const Endpoint endpoint = make_endpoint();
  const WireRequest request = render(builtin("pocketsflow"), message, endpoint);
  EXPECT_EQ(request.body,
            R"({"webhookId":"ep_01JDZQ7000000000000000000","event":"order.completed","timestamp":1763892000123,)"
            R"("testMode":false,"livemode":true,"product":{"id": "prod_456def", "variantId": null},)"
            R"("order":{"id":"order_xyz123"},"currency":"usd","amount":64.99,"amountBeforeTax":60.00,)"
            R"("metadata":{"customField":"value"}})");
  EXPECT_EQ(header_names(request),
            (std::vector<std::string>{"content-type", "user-agent", "X-Pocketsflow-Event", "X-Pocketsflow-Timestamp",
                                      "X-Pocketsflow-Signature", "x-tenant"}));
  EXPECT_EQ(header(request, "user-agent"), "Ferry/test");
  EXPECT_EQ(header(request, "X-Pocketsflow-Event"), "order.completed");
  EXPECT_EQ(header(request, "X-Pocketsflow-Timestamp"), "1763892000123");
  // Hex HMAC of the raw body, keyed with the newest secret string as shown.
  const std::string signature = header(request, "X-Pocketsflow-Signature");
  EXPECT_EQ(signature, to_hex(hmac_sha256(kNewestSecret, request.body)));
  EXPECT_TRUE(verify_hmac_sha256_hex(kNewestSecret, request.body, signature));
  EXPECT_FALSE(verify_hmac_sha256_hex(endpoint.secrets[1], request.body, signature));
}

TEST(WireProfileBuiltins, PocketsflowMarksTestEvents) {
  Message message = make_message(R"({"order":{"id":"o_1"}})");
  message.test = true;
  const WireRequest request = render(builtin("pocketsflow"), message, make_endpoint());
  EXPECT_EQ(request.body,
            R"({"webhookId":"ep_01JDZQ7000000000000000000","event":"order.completed","timestamp":1763892000123,)"
            R"("testMode":true,"livemode":false,"order":{"id":"o_1"}})");
}

TEST(WireProfileBuiltins, PenguinMails) {
  const Message message = make_message(R"({"email_id":"msg_xyz789","opened_at":"2025-11-25T14:30:00Z"})");
  const Endpoint endpoint = make_endpoint();
  const WireRequest request = render(builtin("penguinmails"), message, endpoint, "dl_42");
  EXPECT_EQ(
      request.body,
      R"({"id":"evt_01JDZQ6V3XK2T9E8R7M5N4P3AB","type":"order.completed",)"
      R"("created_at":"2025-11-23T10:00:00.123Z","data":{"email_id":"msg_xyz789","opened_at":"2025-11-25T14:30:00Z"}})");
  EXPECT_EQ(header_names(request),
            (std::vector<std::string>{"content-type", "user-agent", "X-PenguinMails-Event",
                                      "X-PenguinMails-Delivery-ID", "X-PenguinMails-Signature", "x-tenant"}));
  EXPECT_EQ(header(request, "user-agent"), "PenguinMails-Webhooks/1.0");
  EXPECT_EQ(header(request, "X-PenguinMails-Event"), "order.completed");
  EXPECT_EQ(header(request, "X-PenguinMails-Delivery-ID"), "dl_42");
  EXPECT_EQ(header(request, "X-PenguinMails-Signature"), to_hex(hmac_sha256(kNewestSecret, request.body)));
}

// ---- Flat spreading

WireProfile flat_profile() {
  WireProfile profile;
  profile.name = "flat";
  profile.layout = EnvelopeLayout::flat;
  profile.fields = {{"event", FieldSource::type, ""}, {"timestamp", FieldSource::timestamp, ""}};
  profile.timestamp_format = TimestampFormat::epoch_s;
  return profile;
}

std::string flat_body(std::string_view payload) {
  return render(flat_profile(), make_message(payload), make_endpoint()).body;
}

TEST(WireProfileFlat, CopiesNumbersAndNestedValuesVerbatim) {
  EXPECT_EQ(flat_body(R"({"a":60.00,"b":1e3,"c":-0.0,"d":123456789012345678901234567890,"e":true,"f":null})"),
            R"({"event":"order.completed","timestamp":1763892000,"a":60.00,"b":1e3,"c":-0.0,)"
            R"("d":123456789012345678901234567890,"e":true,"f":null})");
  EXPECT_EQ(flat_body("{\n  \"o\" : { \"x\" : [1, 2.50, {\"y\": []}] } ,\n  \"z\"\t:\t[ ]\n}\n"),
            R"({"event":"order.completed","timestamp":1763892000,"o":{ "x" : [1, 2.50, {"y": []}] },"z":[ ]})");
}

TEST(WireProfileFlat, KeepsEscapesInKeysAndStrings) {
  EXPECT_EQ(flat_body(R"({"s":"caf\u00e9 \"q\" \\ \n \/","k\u0065y":"v","\"quoted\"":1})"),
            R"({"event":"order.completed","timestamp":1763892000,"s":"caf\u00e9 \"q\" \\ \n \/","k\u0065y":"v",)"
            R"("\"quoted\"":1})");
  EXPECT_EQ(flat_body("{\"utf8\":\"\xc3\xa9\xe2\x82\xac\"}"),
            "{\"event\":\"order.completed\",\"timestamp\":1763892000,\"utf8\":\"\xc3\xa9\xe2\x82\xac\"}");
}

TEST(WireProfileFlat, EnvelopeFieldsWinOverPayloadMembers) {
  // "ev\u0065nt" is "event" once unescaped, so it collides too.
  EXPECT_EQ(flat_body(R"({"event":"spoofed","amount":5,"timestamp":1,"ev\u0065nt":"again","note":"kept"})"),
            R"({"event":"order.completed","timestamp":1763892000,"amount":5,"note":"kept"})");
}

TEST(WireProfileFlat, PayloadsThatAreNotObjectsGoUnderData) {
  EXPECT_EQ(flat_body("[1, 2.0]"), R"({"event":"order.completed","timestamp":1763892000,"data":[1, 2.0]})");
  EXPECT_EQ(flat_body(R"("text")"), R"({"event":"order.completed","timestamp":1763892000,"data":"text"})");
  EXPECT_EQ(flat_body("42.10"), R"({"event":"order.completed","timestamp":1763892000,"data":42.10})");
  EXPECT_EQ(flat_body("null"), R"({"event":"order.completed","timestamp":1763892000,"data":null})");
}

TEST(WireProfileFlat, EmptyPayloadsAndEnvelopes) {
  EXPECT_EQ(flat_body("{}"), R"({"event":"order.completed","timestamp":1763892000})");
  EXPECT_EQ(flat_body(" { } "), R"({"event":"order.completed","timestamp":1763892000})");
  WireProfile bare = flat_profile();
  bare.fields.clear();
  EXPECT_EQ(render(bare, make_message(R"({"a": 1, "b":[2]})"), make_endpoint()).body, R"({"a":1,"b":[2]})");
  EXPECT_EQ(render(bare, make_message("{}"), make_endpoint()).body, "{}");
  EXPECT_EQ(render(bare, make_message("[1]"), make_endpoint()).body, R"({"data":[1]})");
}

TEST(WireProfileFlat, AnUnreadablePayloadIsAnError) {
  const Message message = make_message(R"({"a": 1,)");
  const Endpoint endpoint = make_endpoint();
  const WireContext context{.message = message,
                            .endpoint = endpoint,
                            .delivery_id = "",
                            .now_ms = kNowMs,
                            .default_user_agent = "Ferry/test"};
  EXPECT_FALSE(render_wire_request(flat_profile(), context).ok());
}

// ---- Envelope sources, ids and header templates

TEST(WireProfileRender, EverySourceAndConstant) {
  WireProfile profile;
  profile.name = "all";
  profile.fields = {
      {"id", FieldSource::id, ""},
      {"type", FieldSource::type, ""},
      {"at", FieldSource::timestamp, ""},
      {"endpoint", FieldSource::endpoint_id, ""},
      {"delivery", FieldSource::delivery_id, ""},
      {"workspace", FieldSource::workspace_id, ""},
      {"test", FieldSource::test_mode, ""},
      {"live", FieldSource::live_mode, ""},
      {"source", FieldSource::constant, R"("acme")"},
      {"version", FieldSource::constant, R"({"major":2,"tags":["a"]})"},
      {"payload", FieldSource::data, ""},
  };
  profile.id_prefix = "evt_";
  profile.timestamp_format = TimestampFormat::epoch_ms;
  EXPECT_EQ(render(profile, make_message("[true]"), make_endpoint(), "dl_9").body,
            R"({"id":"evt_01JDZQ6V3XK2T9E8R7M5N4P3AB","type":"order.completed","at":1763892000123,)"
            R"("endpoint":"ep_01JDZQ7000000000000000000","delivery":"dl_9","workspace":"ws_acme","test":false,)"
            R"("live":true,"source":"acme","version":{"major":2,"tags":["a"]},"payload":[true]})");
}

TEST(WireProfileRender, WireIds) {
  WireProfile profile;
  EXPECT_EQ(wire_message_id(profile, "msg_01ABC"), "msg_01ABC");
  profile.id_prefix = "pe_";
  EXPECT_EQ(wire_message_id(profile, "msg_01ABC"), "pe_01ABC");
  EXPECT_EQ(wire_message_id(profile, "msg_01ABC"), wire_message_id(profile, "msg_01ABC"));
  EXPECT_EQ(wire_message_id(profile, "pe_already"), "pe_already");
  EXPECT_EQ(wire_message_id(profile, "order-42"), "pe_order-42");  // a producer's own id keeps its text
  EXPECT_EQ(wire_message_id(profile, "msg_"), "pe_");
}

TEST(WireProfileRender, HeaderTemplatesFillEveryPlaceholder) {
  WireProfile profile = standard_webhooks_profile();
  profile.name = "templates";
  profile.id_prefix = "evt_";
  profile.headers = {
      {"X-Id", "{id}"},
      {"X-Type", "type={type}"},
      {"X-Time", "{timestamp}"},
      {"X-Ms", "{timestamp_ms}"},
      {"X-S", "{timestamp_s}"},
      {"X-Delivery", "{delivery_id}"},
      {"X-Endpoint", "{endpoint_id}"},
      {"X-Workspace", "{workspace_id}"},
      {"X-Sent", "{send_time_s}"},
      {"X-Literal", "{{id} and {id}}"},
  };
  profile.user_agent = "Acme/2";
  const WireRequest request = render(profile, make_message(), make_endpoint(), "dl_7");
  EXPECT_EQ(header(request, "user-agent"), "Acme/2");
  EXPECT_EQ(header(request, "X-Id"), "evt_01JDZQ6V3XK2T9E8R7M5N4P3AB");
  EXPECT_EQ(header(request, "X-Type"), "type=order.completed");
  EXPECT_EQ(header(request, "X-Time"), "2025-11-23T10:00:00.123Z");
  EXPECT_EQ(header(request, "X-Ms"), "1763892000123");
  EXPECT_EQ(header(request, "X-S"), "1763892000");
  EXPECT_EQ(header(request, "X-Delivery"), "dl_7");
  EXPECT_EQ(header(request, "X-Endpoint"), "ep_01JDZQ7000000000000000000");
  EXPECT_EQ(header(request, "X-Workspace"), "ws_acme");
  EXPECT_EQ(header(request, "X-Sent"), "1763892005");
  EXPECT_EQ(header(request, "X-Literal"), "{id} and evt_01JDZQ6V3XK2T9E8R7M5N4P3AB}");
  // Template headers come after the two fixed ones and before the signature.
  const auto names = header_names(request);
  EXPECT_EQ(names[2], "X-Id");
  EXPECT_EQ(names[12], "webhook-id");
  EXPECT_EQ(names.back(), "x-tenant");
}

TEST(WireProfileRender, ALineBreakInAnIdCannotReachTheHeaders) {
  Message message = make_message();
  message.id = "msg_1\r\nx-injected: yes";
  const Endpoint endpoint = make_endpoint();
  const WireContext context{.message = message,
                            .endpoint = endpoint,
                            .delivery_id = "",
                            .now_ms = kNowMs,
                            .default_user_agent = "Ferry/test"};
  auto request = render_wire_request(standard_webhooks_profile(), context);
  ASSERT_FALSE(request.ok());
  EXPECT_NE(request.error().message.find("webhook-id"), std::string::npos) << request.error().message;
}

// ---- Signature schemes

TEST(WireProfileSignature, StripeSchemeSignsWithEverySecret) {
  WireProfile profile = standard_webhooks_profile();
  profile.name = "stripe-like";
  profile.scheme = SignatureScheme::stripe;
  profile.signature_header = "Acme-Signature";
  const Endpoint endpoint = make_endpoint();
  const WireRequest request = render(profile, make_message(), endpoint);
  EXPECT_EQ(header_names(request),
            (std::vector<std::string>{"content-type", "user-agent", "Acme-Signature", "x-tenant"}));
  const std::string signature = header(request, "Acme-Signature");
  const std::string content = std::to_string(kSendSeconds) + "." + request.body;
  EXPECT_EQ(signature, "t=1763892005,v1=" + to_hex(hmac_sha256(endpoint.secrets[0], content)) +
                           ",v1=" + to_hex(hmac_sha256(endpoint.secrets[1], content)));
  for (const auto& secret : endpoint.secrets) EXPECT_TRUE(verify_stripe_signature(secret, request.body, signature));
  EXPECT_FALSE(verify_stripe_signature(generate_secret(), request.body, signature));
}

TEST(WireProfileSignature, HexSchemeSignsWithTheNewestSecretOnly) {
  WireProfile profile = standard_webhooks_profile();
  profile.name = "hex";
  profile.scheme = SignatureScheme::hmac_sha256_hex;
  profile.signature_header = "X-Hub-Signature";
  const Endpoint endpoint = make_endpoint();
  const WireRequest request = render(profile, make_message(), endpoint);
  const std::string signature = header(request, "X-Hub-Signature");
  EXPECT_EQ(signature.size(), 64u);
  EXPECT_TRUE(verify_hmac_sha256_hex(endpoint.secrets[0], request.body, signature));
  EXPECT_FALSE(verify_hmac_sha256_hex(endpoint.secrets[1], request.body, signature));
  // The key is the secret as text, not the bytes it encodes.
  EXPECT_FALSE(verify_hmac_sha256_hex(*secret_key(endpoint.secrets[0]), request.body, signature));
}

TEST(WireProfileSignature, SchemesNeedUsableSecrets) {
  Endpoint endpoint = make_endpoint();
  const Message message = make_message();
  endpoint.secrets = {"not-a-whsec-secret"};
  const WireContext context{.message = message,
                            .endpoint = endpoint,
                            .delivery_id = "",
                            .now_ms = kNowMs,
                            .default_user_agent = "Ferry/test"};
  EXPECT_FALSE(render_wire_request(builtin("standard-webhooks"), context).ok());
  // The hex scheme keys with the text as is, so any secret signs.
  EXPECT_TRUE(render_wire_request(builtin("pocketsflow"), context).ok());
  endpoint.secrets.clear();
  EXPECT_FALSE(render_wire_request(builtin("pocketsflow"), context).ok());
}

// ---- The JSON format

constexpr std::string_view kAcme = R"({"name":"acme","description":"Acme's webhooks",
 "envelope":{"layout":"nested","id_prefix":"evt_","timestamp_format":"iso8601",
             "fields":[{"name":"id","value":"id"},{"name":"type","value":"type"},
                       {"name":"created_at","value":"timestamp"},{"name":"data","value":"data"},
                       {"name":"source","value":"constant","constant":"acme"}]},
 "headers":{"X-Acme-Event":"{type}","X-Acme-Delivery":"{delivery_id}"},
 "user_agent":"Acme-Webhooks/1.0",
 "signature":{"scheme":"hmac-sha256-hex","header":"X-Acme-Signature"}})";

TEST(WireProfileJson, ParsesTheDocumentedExample) {
  auto profile = parse_wire_profile(kAcme);
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  EXPECT_EQ(profile->name, "acme");
  EXPECT_EQ(profile->description, "Acme's webhooks");
  EXPECT_EQ(profile->layout, EnvelopeLayout::nested);
  EXPECT_EQ(profile->id_prefix, "evt_");
  ASSERT_EQ(profile->fields.size(), 5u);
  EXPECT_EQ(profile->fields[2], (EnvelopeField{"created_at", FieldSource::timestamp, ""}));
  EXPECT_EQ(profile->fields[4], (EnvelopeField{"source", FieldSource::constant, R"("acme")"}));
  EXPECT_EQ(profile->headers, (HeaderList{{"X-Acme-Event", "{type}"}, {"X-Acme-Delivery", "{delivery_id}"}}));
  EXPECT_EQ(profile->user_agent, "Acme-Webhooks/1.0");
  EXPECT_EQ(profile->scheme, SignatureScheme::hmac_sha256_hex);
  EXPECT_EQ(profile->signature_header, "X-Acme-Signature");
  const WireRequest request = render(*profile, make_message(R"({"n":1})"), make_endpoint());
  EXPECT_EQ(request.body, R"({"id":"evt_01JDZQ6V3XK2T9E8R7M5N4P3AB","type":"order.completed",)"
                          R"("created_at":"2025-11-23T10:00:00.123Z","data":{"n":1},"source":"acme"})");
}

TEST(WireProfileJson, OptionalKeysHaveDefaults) {
  auto profile = parse_wire_profile(R"({"name":"min","envelope":{"fields":[{"name":"data","value":"data"}]}})");
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  EXPECT_EQ(profile->layout, EnvelopeLayout::nested);
  EXPECT_EQ(profile->timestamp_format, TimestampFormat::iso8601);
  EXPECT_EQ(profile->scheme, SignatureScheme::standard_webhooks);
  EXPECT_TRUE(profile->headers.empty());
  EXPECT_TRUE(profile->user_agent.empty());
  EXPECT_TRUE(profile->id_prefix.empty());
}

TEST(WireProfileJson, HeadersMayBeAnArrayOfPairsAndKeepTheirOrder) {
  auto profile = parse_wire_profile(R"({"name":"pairs","envelope":{"fields":[{"name":"data","value":"data"}]},
    "headers":[["X-Zed","{type}"],["X-Alpha","{id}"]]})");
  ASSERT_TRUE(profile.ok()) << profile.error().message;
  EXPECT_EQ(profile->headers, (HeaderList{{"X-Zed", "{type}"}, {"X-Alpha", "{id}"}}));
  auto object = parse_wire_profile(R"({"name":"object","envelope":{"fields":[{"name":"data","value":"data"}]},
    "headers":{"X-Zed":"{type}","X-Alpha":"{id}"}})");
  ASSERT_TRUE(object.ok());
  EXPECT_EQ(object->headers, profile->headers);
}

TEST(WireProfileJson, RoundTripsEveryBuiltinAndACustomProfile) {
  for (const auto& profile : builtin_profiles()) {
    auto again = parse_wire_profile(wire_profile_to_json(profile));
    ASSERT_TRUE(again.ok()) << profile.name << ": " << again.error().message;
    EXPECT_EQ(*again, profile) << profile.name;
  }
  auto acme = parse_wire_profile(kAcme);
  ASSERT_TRUE(acme.ok());
  auto again = parse_wire_profile(wire_profile_to_json(*acme));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *acme);
}

TEST(WireProfileJson, WritesEveryKey) {
  WireProfile profile = *find_builtin_profile("pocketsflow");
  profile.description = "flat";
  EXPECT_EQ(wire_profile_to_json(profile),
            R"({"name":"pocketsflow","description":"flat","envelope":{"layout":"flat","id_prefix":"",)"
            R"("timestamp_format":"epoch_ms","fields":[{"name":"webhookId","value":"endpoint_id"},)"
            R"({"name":"event","value":"type"},{"name":"timestamp","value":"timestamp"},)"
            R"({"name":"testMode","value":"test_mode"},{"name":"livemode","value":"live_mode"}]},)"
            R"("headers":{"X-Pocketsflow-Event":"{type}","X-Pocketsflow-Timestamp":"{timestamp_ms}"},"user_agent":"",)"
            R"("signature":{"scheme":"hmac-sha256-hex","header":"X-Pocketsflow-Signature"}})");
  auto acme = parse_wire_profile(kAcme);
  ASSERT_TRUE(acme.ok());
  EXPECT_NE(wire_profile_to_json(*acme).find(R"({"name":"source","value":"constant","constant":"acme"})"),
            std::string::npos);
}

TEST(WireProfileJson, AFileHoldsOneProfileOrAList) {
  auto one = parse_wire_profiles(kAcme);
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].name, "acme");
  const std::string list = R"({"profiles":[)" + std::string(kAcme) + "," +
                           R"({"name":"other","envelope":{"fields":[{"name":"data","value":"data"}]}}]})";
  auto two = parse_wire_profiles(list);
  ASSERT_TRUE(two.ok()) << two.error().message;
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].name, "other");
  auto empty = parse_wire_profiles(R"({"profiles":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

// The error of parsing `json`, which must fail as unprocessable.
std::string parse_error(const std::string& json) {
  auto profile = parse_wire_profile(json);
  EXPECT_FALSE(profile.ok()) << json;
  if (profile.ok()) return "";
  EXPECT_EQ(profile.error().code, ErrorCode::unprocessable) << profile.error().message;
  return profile.error().message;
}

// A valid profile with `replace` substituted for `find` in its text.
std::string acme_with(std::string_view find, std::string_view replace) {
  std::string text(kAcme);
  const std::size_t at = text.find(find);
  EXPECT_NE(at, std::string::npos) << find;
  if (at != std::string::npos) text.replace(at, find.size(), replace);
  return text;
}

#define EXPECT_MENTIONS(message, part) EXPECT_NE((message).find(part), std::string::npos) << (message)

TEST(WireProfileErrors, NotJsonOrNotAnObject) {
  auto garbage = parse_wire_profile("{\"name\":");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, ErrorCode::bad_request);
  EXPECT_MENTIONS(garbage.error().message, "not valid JSON");
  EXPECT_MENTIONS(parse_error("[1]"), "must be a JSON object");
}

TEST(WireProfileErrors, NameMustBeLowercaseTokenOfAtMost64) {
  const std::string upper = parse_error(acme_with(R"("name":"acme")", R"("name":"Acme")"));
  EXPECT_MENTIONS(upper, "name: must be 1 to 64 lowercase");
  EXPECT_MENTIONS(upper, "\"Acme\"");
  EXPECT_MENTIONS(parse_error(acme_with(R"("name":"acme")", R"("name":"")")), "name:");
  EXPECT_MENTIONS(parse_error(acme_with(R"("name":"acme")", "\"name\":\"" + std::string(65, 'a') + "\"")), "name:");
  EXPECT_TRUE(parse_wire_profile(acme_with(R"("name":"acme")", "\"name\":\"" + std::string(64, 'a') + "\"")).ok());
  EXPECT_MENTIONS(parse_error(acme_with(R"("name":"acme")", R"("name":7)")), "name: must be a string");
  EXPECT_MENTIONS(parse_error(acme_with(R"("name":"acme",)", "")), "name: is required");
}

TEST(WireProfileErrors, NestedLayoutNeedsExactlyOneDataField) {
  EXPECT_MENTIONS(parse_error(acme_with(R"({"name":"data","value":"data"},)", "")),
                  "envelope.fields: a nested layout needs exactly one field whose value is \"data\" (found 0)");
  EXPECT_MENTIONS(parse_error(acme_with(R"({"name":"data","value":"data"},)",
                                        R"({"name":"data","value":"data"},{"name":"more","value":"data"},)")),
                  "(found 2)");
}

TEST(WireProfileErrors, FlatLayoutHasNoDataField) {
  const std::string error = parse_error(acme_with(R"("layout":"nested")", R"("layout":"flat")"));
  EXPECT_MENTIONS(error, "envelope.fields[3].value: a flat layout spreads the payload's members");
  EXPECT_MENTIONS(parse_error(R"({"name":"f","envelope":{"layout":"flat","fields":[{"name":"data","value":"type"}]}})"),
                  "envelope.fields[0].name: a flat layout keeps \"data\" for payloads that are not objects");
}

TEST(WireProfileErrors, FieldNamesAreUniqueAndNonEmpty) {
  EXPECT_MENTIONS(parse_error(acme_with(R"({"name":"created_at")", R"({"name":"type")")),
                  "envelope.fields[2].name: \"type\" is already the name of envelope.fields[1]");
  EXPECT_MENTIONS(parse_error(acme_with(R"({"name":"created_at")", R"({"name":"")")),
                  "envelope.fields[2].name: must be 1 to 128 characters");
  EXPECT_MENTIONS(parse_error(acme_with(R"("name":"created_at",)", "")), "envelope.fields[2].name: is required");
}

TEST(WireProfileErrors, UnknownValuesAreNamed) {
  const std::string value = parse_error(acme_with(R"("value":"type")", R"("value":"tipe")"));
  EXPECT_MENTIONS(value, "envelope.fields[1].value: unknown value \"tipe\"");
  EXPECT_MENTIONS(value, "endpoint_id");
  const std::string layout = parse_error(acme_with(R"("layout":"nested")", R"("layout":"deep")"));
  EXPECT_MENTIONS(layout, "envelope.layout: unknown layout \"deep\"; expected nested or flat");
  const std::string format = parse_error(acme_with(R"("timestamp_format":"iso8601")", R"("timestamp_format":"unix")"));
  EXPECT_MENTIONS(format, "envelope.timestamp_format: unknown timestamp format \"unix\"");
  EXPECT_MENTIONS(format, "epoch_ms");
  const std::string scheme = parse_error(acme_with(R"("scheme":"hmac-sha256-hex")", R"("scheme":"hmac")"));
  EXPECT_MENTIONS(scheme,
                  "signature.scheme: unknown scheme \"hmac\"; expected standard-webhooks, hmac-sha256-hex or stripe");
}

TEST(WireProfileErrors, ConstantsBelongToConstantFieldsOnly) {
  EXPECT_MENTIONS(parse_error(acme_with(R"(,"constant":"acme")", "")),
                  "envelope.fields[4].constant: required when the value is \"constant\"");
  EXPECT_MENTIONS(parse_error(acme_with(R"({"name":"id","value":"id"})", R"({"name":"id","value":"id","constant":1})")),
                  "envelope.fields[0].constant: only a field whose value is \"constant\" takes one");
  // Any JSON value is a constant, null and objects included.
  EXPECT_TRUE(parse_wire_profile(acme_with(R"("constant":"acme")", R"("constant":null)")).ok());
  EXPECT_TRUE(parse_wire_profile(acme_with(R"("constant":"acme")", R"("constant":{"v":[1,2]})")).ok());
}

TEST(WireProfileErrors, HeaderNamesMustBeTokens) {
  EXPECT_MENTIONS(parse_error(acme_with(R"("X-Acme-Event")", R"("X Acme Event")")),
                  "headers[\"X Acme Event\"]: not a valid HTTP header name");
  EXPECT_MENTIONS(parse_error(acme_with(R"("X-Acme-Event")", R"("")")), "not a valid HTTP header name");
}

TEST(WireProfileErrors, HeadersFerrySetsAreRefused) {
  for (std::string name : {"Content-Type", "user-agent", "Content-Length", "HOST", "x-acme-signature"}) {
    const std::string error = parse_error(acme_with(R"("X-Acme-Event")", "\"" + name + "\""));
    EXPECT_MENTIONS(error, "headers[\"" + name + "\"]");
  }
  EXPECT_MENTIONS(parse_error(acme_with(R"("X-Acme-Event")", R"("X-ACME-Signature")")), "signature header");
  // Under Standard Webhooks its three headers are Ferry's too.
  EXPECT_MENTIONS(parse_error(R"({"name":"s","envelope":{"fields":[{"name":"data","value":"data"}]},)"
                              R"("headers":{"Webhook-Signature":"x"}})"),
                  "headers[\"Webhook-Signature\"]: is set by Ferry");
}

TEST(WireProfileErrors, HeaderNamesAreUniqueIgnoringCase) {
  EXPECT_MENTIONS(parse_error(acme_with(R"("X-Acme-Delivery")", R"("x-acme-event")")),
                  "headers[\"x-acme-event\"]: appears twice");
}

TEST(WireProfileErrors, HexAndStripeSchemesNeedAHeader) {
  EXPECT_MENTIONS(parse_error(acme_with(R"(,"header":"X-Acme-Signature")", "")),
                  "signature.header: required by the scheme \"hmac-sha256-hex\"");
  EXPECT_MENTIONS(
      parse_error(acme_with(R"({"scheme":"hmac-sha256-hex","header":"X-Acme-Signature"})", R"({"scheme":"stripe"})")),
      "signature.header: required by the scheme \"stripe\"");
  EXPECT_MENTIONS(parse_error(acme_with(R"("header":"X-Acme-Signature")", R"("header":"Content-Type")")),
                  "signature.header: \"Content-Type\" is set by Ferry");
  EXPECT_MENTIONS(parse_error(acme_with(R"("scheme":"hmac-sha256-hex")", R"("scheme":"standard-webhooks")")),
                  "signature.header: only the hmac-sha256-hex and stripe schemes take a header");
  EXPECT_MENTIONS(parse_error(acme_with(R"({"scheme":"hmac-sha256-hex",)", R"({)")), "signature.scheme: is required");
}

TEST(WireProfileErrors, TemplatesUseKnownPlaceholders) {
  const std::string unknown = parse_error(acme_with(R"("{type}")", R"("{tipe}")"));
  EXPECT_MENTIONS(unknown, "headers[\"X-Acme-Event\"]: unknown placeholder {tipe}");
  EXPECT_MENTIONS(unknown, "{send_time_s}");
  EXPECT_MENTIONS(parse_error(acme_with(R"("{type}")", R"("{type")")), "headers[\"X-Acme-Event\"]: an unclosed '{'");
  EXPECT_MENTIONS(parse_error(acme_with(R"("{type}")", R"("a\nb")")),
                  "headers[\"X-Acme-Event\"]: the value must be one line");
  EXPECT_MENTIONS(parse_error(acme_with(R"("{type}")", "7")), "headers[\"X-Acme-Event\"]: must be a string");
  EXPECT_TRUE(parse_wire_profile(acme_with(R"("{type}")", R"("{{literal} {type}")")).ok());
}

TEST(WireProfileErrors, UnknownKeysAreRefusedAtEveryLevel) {
  EXPECT_MENTIONS(parse_error(acme_with(R"("envelope")", R"("evnelope")")),
                  "evnelope: unknown key; a profile takes name");
  EXPECT_MENTIONS(parse_error(acme_with(R"("id_prefix")", R"("idprefix")")), "envelope.idprefix: unknown key");
  EXPECT_MENTIONS(parse_error(acme_with(R"({"name":"id","value":"id"})", R"({"name":"id","source":"id"})")),
                  "envelope.fields[0].source: unknown key");
  EXPECT_MENTIONS(parse_error(acme_with(R"("header":)", R"("headr":)")), "signature.headr: unknown key");
  EXPECT_MENTIONS(parse_error(acme_with(R"("user_agent")", R"("useragent")")), "useragent: unknown key");
}

TEST(WireProfileErrors, IdPrefixAndUserAgentAreChecked) {
  EXPECT_MENTIONS(parse_error(acme_with(R"("id_prefix":"evt_")", R"("id_prefix":"evt prefix")")),
                  "envelope.id_prefix: must be at most 32 letters");
  EXPECT_MENTIONS(parse_error(acme_with(R"("Acme-Webhooks/1.0")", R"("Acme\r\nX: y")")),
                  "user_agent: must be at most 256 printable ASCII characters");
}

TEST(WireProfileErrors, EnvelopeAndTypesAreChecked) {
  EXPECT_MENTIONS(parse_error(R"({"name":"x"})"), "envelope: is required");
  EXPECT_MENTIONS(parse_error(R"({"name":"x","envelope":[]})"), "envelope: must be an object");
  EXPECT_MENTIONS(parse_error(R"({"name":"x","envelope":{}})"), "envelope.fields: is required");
  EXPECT_MENTIONS(parse_error(R"({"name":"x","envelope":{"fields":{}}})"), "envelope.fields: must be an array");
  EXPECT_MENTIONS(parse_error(R"({"name":"x","envelope":{"fields":["data"]}})"),
                  "envelope.fields[0]: must be an object");
  EXPECT_MENTIONS(parse_error(R"({"name":"x","envelope":{"fields":[{"name":"d","value":"data"}]},"headers":"no"})"),
                  "headers: must be an object");
  EXPECT_MENTIONS(parse_error(R"({"name":"x","envelope":{"fields":[{"name":"d","value":"data"}]},"headers":[["a"]]})"),
                  "headers[0]: must be a [name, value] pair");
  EXPECT_MENTIONS(
      parse_error(R"({"name":"x","envelope":{"fields":[{"name":"d","value":"data"}]},"signature":"stripe"})"),
      "signature: must be an object");
}

TEST(WireProfileErrors, FilesNameTheFailingProfile) {
  const std::string other = R"({"name":"other","envelope":{"fields":[{"name":"data","value":"tipe"}]}})";
  auto failing = parse_wire_profiles(R"({"profiles":[)" + std::string(kAcme) + "," + other + "]}");
  ASSERT_FALSE(failing.ok());
  EXPECT_EQ(failing.error().code, ErrorCode::unprocessable);
  EXPECT_MENTIONS(failing.error().message, "profiles[1] (\"other\"): envelope.fields[0].value: unknown value \"tipe\"");
  auto twice = parse_wire_profiles(R"({"profiles":[)" + std::string(kAcme) + "," + std::string(kAcme) + "]}");
  ASSERT_FALSE(twice.ok());
  EXPECT_MENTIONS(twice.error().message, "profiles[1].name: \"acme\" is already the name of profiles[0]");
  auto extra = parse_wire_profiles(R"({"profiles":[],"version":1})");
  ASSERT_FALSE(extra.ok());
  EXPECT_MENTIONS(extra.error().message, "version: unknown key");
  auto not_list = parse_wire_profiles(R"({"profiles":{}})");
  ASSERT_FALSE(not_list.ok());
  EXPECT_MENTIONS(not_list.error().message, "profiles: must be an array");
}

TEST(WireProfileErrors, HandBuiltProfilesAreCheckedToo) {
  WireProfile profile = standard_webhooks_profile();
  profile.name = "hand";
  profile.fields.push_back({"bad", FieldSource::constant, "{not json"});
  auto valid = validate_wire_profile(profile);
  ASSERT_FALSE(valid.ok());
  EXPECT_MENTIONS(valid.error().message, "envelope.fields[3].constant: must be a JSON value");
}

// ---- The registry

TEST(WireProfileRegistry, HoldsTheBuiltinsThenCustomProfiles) {
  WireProfiles profiles;
  ASSERT_EQ(profiles.all().size(), 6u);
  EXPECT_EQ(profiles.find("penguinmails"), find_builtin_profile("penguinmails"));
  EXPECT_EQ(profiles.find("acme"), nullptr);
  auto acme = parse_wire_profile(kAcme);
  ASSERT_TRUE(acme.ok());
  ASSERT_TRUE(profiles.add(*acme).ok());
  const WireProfile* found = profiles.find("acme");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(*found, *acme);
  const auto all = profiles.all();
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all.front()->name, "standard-webhooks");
  EXPECT_EQ(all.back(), found);
}

TEST(WireProfileRegistry, RefusesBuiltinNamesDuplicatesAndInvalidProfiles) {
  WireProfiles profiles;
  WireProfile copy = *find_builtin_profile("heyoo");
  auto builtin_name = profiles.add(copy);
  ASSERT_FALSE(builtin_name.ok());
  EXPECT_EQ(builtin_name.error().code, ErrorCode::conflict);
  auto acme = parse_wire_profile(kAcme);
  ASSERT_TRUE(acme.ok());
  ASSERT_TRUE(profiles.add(*acme).ok());
  auto duplicate = profiles.add(*acme);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, ErrorCode::conflict);
  WireProfile invalid = *acme;
  invalid.name = "Invalid Name";
  auto refused = profiles.add(invalid);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::unprocessable);
  EXPECT_EQ(profiles.all().size(), 7u);
}

TEST(WireProfileRegistry, TheOldListingFollowsTheBuiltins) {
  ASSERT_EQ(builtin_wire_profiles().size(), builtin_profiles().size());
  EXPECT_EQ(builtin_wire_profiles()[0].name, kStandardWebhooksProfile);
  for (const auto& profile : builtin_profiles()) EXPECT_TRUE(is_known_wire_profile(profile.name));
  EXPECT_FALSE(is_known_wire_profile("no-such-profile"));
}

}  // namespace
}  // namespace ferry
