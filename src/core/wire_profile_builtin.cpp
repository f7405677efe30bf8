// The built-in wire profiles: Standard Webhooks, and one per product Ferry
// must be able to stand in for (DESIGN.md, "Who it is for"). They are written
// in the format of custom profile files and go through the same parser, so
// what a custom profile can express and what the built-ins use never drift
// apart. Where a product's documentation leaves something open, the choice
// is said in the description and in docs/profiles.md.

#include <cstdlib>

#include "core/wire_profile.hpp"

namespace ferry {

namespace {

constexpr std::string_view kBuiltinProfiles = R"json({"profiles": [
{
  "name": "standard-webhooks",
  "description": "Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature (v1, HMAC-SHA256, base64); body {\"type\",\"timestamp\",\"data\"}",
  "envelope": {
    "layout": "nested",
    "timestamp_format": "iso8601",
    "fields": [
      {"name": "type", "value": "type"},
      {"name": "timestamp", "value": "timestamp"},
      {"name": "data", "value": "data"}
    ]
  },
  "signature": {"scheme": "standard-webhooks"}
},
{
  "name": "pocketflows",
  "description": "Pocketflows: body {\"id\":\"pe_…\",\"type\",\"data\"}; signed as Standard Webhooks (Pocketflows documents no signature)",
  "envelope": {
    "layout": "nested",
    "id_prefix": "pe_",
    "fields": [
      {"name": "id", "value": "id"},
      {"name": "type", "value": "type"},
      {"name": "data", "value": "data"}
    ]
  },
  "signature": {"scheme": "standard-webhooks"}
},
{
  "name": "heyoo",
  "description": "Heyoo: body {\"id\":\"evt_…\",\"event\",\"timestamp\"(ISO 8601),\"data\"}; signed as Standard Webhooks (Heyoo documents no signature)",
  "envelope": {
    "layout": "nested",
    "id_prefix": "evt_",
    "timestamp_format": "iso8601",
    "fields": [
      {"name": "id", "value": "id"},
      {"name": "event", "value": "type"},
      {"name": "timestamp", "value": "timestamp"},
      {"name": "data", "value": "data"}
    ]
  },
  "signature": {"scheme": "standard-webhooks"}
},
{
  "name": "customer-engagement",
  "description": "Customer-engagement platform: its documentation gives no envelope, so the Standard Webhooks body and headers; payloads carry workspace_id",
  "envelope": {
    "layout": "nested",
    "timestamp_format": "iso8601",
    "fields": [
      {"name": "type", "value": "type"},
      {"name": "timestamp", "value": "timestamp"},
      {"name": "data", "value": "data"}
    ]
  },
  "signature": {"scheme": "standard-webhooks"}
},
{
  "name": "pocketsflow",
  "description": "Pocketsflow: flat body {\"webhookId\",\"event\",\"timestamp\"(ms),\"testMode\",\"livemode\", …payload members}; X-Pocketsflow-Event, X-Pocketsflow-Timestamp; X-Pocketsflow-Signature: hex HMAC-SHA256 of the body",
  "envelope": {
    "layout": "flat",
    "timestamp_format": "epoch_ms",
    "fields": [
      {"name": "webhookId", "value": "endpoint_id"},
      {"name": "event", "value": "type"},
      {"name": "timestamp", "value": "timestamp"},
      {"name": "testMode", "value": "test_mode"},
      {"name": "livemode", "value": "live_mode"}
    ]
  },
  "headers": {
    "X-Pocketsflow-Event": "{type}",
    "X-Pocketsflow-Timestamp": "{timestamp_ms}"
  },
  "signature": {"scheme": "hmac-sha256-hex", "header": "X-Pocketsflow-Signature"}
},
{
  "name": "penguinmails",
  "description": "PenguinMails: body {\"id\":\"evt_…\",\"type\",\"created_at\"(ISO 8601),\"data\"}; X-PenguinMails-Event, X-PenguinMails-Delivery-ID, User-Agent PenguinMails-Webhooks/1.0; X-PenguinMails-Signature: hex HMAC-SHA256 of the body",
  "envelope": {
    "layout": "nested",
    "id_prefix": "evt_",
    "timestamp_format": "iso8601",
    "fields": [
      {"name": "id", "value": "id"},
      {"name": "type", "value": "type"},
      {"name": "created_at", "value": "timestamp"},
      {"name": "data", "value": "data"}
    ]
  },
  "headers": {
    "X-PenguinMails-Event": "{type}",
    "X-PenguinMails-Delivery-ID": "{delivery_id}"
  },
  "user_agent": "PenguinMails-Webhooks/1.0",
  "signature": {"scheme": "hmac-sha256-hex", "header": "X-PenguinMails-Signature"}
}
]})json";

}  // namespace

std::string_view builtin_profiles_json() { return kBuiltinProfiles; }

const std::vector<WireProfile>& builtin_profiles() {
  static const std::vector<WireProfile> profiles = [] {
    auto parsed = parse_wire_profiles(kBuiltinProfiles);
    // The text above is constant and a unit test parses it, so this only
    // fires on a build whose built-ins were edited without running the tests.
    if (!parsed) std::abort();
    return std::move(*parsed);
  }();
  return profiles;
}

const WireProfile* find_builtin_profile(std::string_view name) {
  for (const auto& profile : builtin_profiles()) {
    if (profile.name == name) return &profile;
  }
  return nullptr;
}

const WireProfile& standard_webhooks_profile() { return builtin_profiles().front(); }

}  // namespace ferry
