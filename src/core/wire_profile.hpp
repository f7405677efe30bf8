#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/attempt.hpp"
#include "core/endpoint.hpp"
#include "core/message.hpp"
#include "core/result.hpp"

namespace ferry {

// A wire profile is how a message looks on the wire for one endpoint: the
// envelope around the payload, the headers, the user agent and the signature
// scheme. Profiles are data: the built-ins (one per product Ferry must be able
// to stand in for) are written in the same JSON format as custom profiles and
// go through the same parser. docs/profiles.md describes the format.

inline constexpr std::string_view kStandardWebhooksProfile = "standard-webhooks";

enum class EnvelopeLayout {
  nested,  // the envelope fields, one of which holds the payload
  flat,    // the envelope fields, then the payload object's members beside them
};

enum class TimestampFormat {
  iso8601,   // "2025-11-23T10:00:00.123Z" (RFC 3339, UTC, milliseconds)
  epoch_ms,  // 1763892000123
  epoch_s,   // 1763892000
};

enum class SignatureScheme {
  standard_webhooks,  // webhook-id, webhook-timestamp, webhook-signature: v1,<base64>
  hmac_sha256_hex,    // <signature_header>: hex HMAC-SHA256 of the body, newest secret only
  stripe,             // <signature_header>: t=<seconds>,v1=<hex>[,v1=<hex>…]
};

// What an envelope field holds.
enum class FieldSource {
  id,            // the wire id (see wire_message_id)
  type,          // the event type
  timestamp,     // the event time, in the profile's timestamp format
  data,          // the payload, verbatim (nested layout only)
  endpoint_id,   // the receiving endpoint's id
  delivery_id,   // the delivery's id
  workspace_id,  // the message's workspace
  test_mode,     // true for test events
  live_mode,     // false for test events
  constant,      // EnvelopeField::constant_json
};

// The names the JSON format uses: "nested", "epoch_ms", "hmac-sha256-hex", "endpoint_id"…
std::string_view envelope_layout_name(EnvelopeLayout layout);
std::string_view timestamp_format_name(TimestampFormat format);
std::string_view signature_scheme_name(SignatureScheme scheme);
std::string_view field_source_name(FieldSource source);

struct EnvelopeField {
  std::string name;
  FieldSource source = FieldSource::constant;
  std::string constant_json;  // the JSON text of a constant field's value; empty for the other sources

  bool operator==(const EnvelopeField&) const = default;
};

struct WireProfile {
  std::string name;  // 1 to 64 of [a-z0-9_-]
  std::string description;
  EnvelopeLayout layout = EnvelopeLayout::nested;
  std::vector<EnvelopeField> fields;  // in wire order
  std::string id_prefix;              // "" = the message id as is
  TimestampFormat timestamp_format = TimestampFormat::iso8601;
  HeaderList headers;      // name -> template with {placeholders}, in request order
  std::string user_agent;  // "" = the server's default (Ferry/<version>)
  SignatureScheme scheme = SignatureScheme::standard_webhooks;
  std::string signature_header;  // the header of the hmac_sha256_hex and stripe schemes

  bool operator==(const WireProfile&) const = default;
};

// Everything a request depends on besides the profile. The references must
// outlive the call.
struct WireContext {
  const Message& message;
  const Endpoint& endpoint;
  std::string_view delivery_id;
  UnixMillis now_ms = 0;  // the send time: signature timestamps and {send_time_s}
  std::string_view default_user_agent;
};

struct WireRequest {
  HeaderList headers;
  std::string body;
};

// The id a profile shows for a message: the message id when the profile has
// no prefix or the id already carries it, else the prefix in place of the
// "msg_" of Ferry's generated ids ("msg_01ABC" -> "pe_01ABC"). Deterministic,
// so every retry of a message carries the same id.
std::string wire_message_id(const WireProfile& profile, std::string_view message_id);

// Checks every rule of docs/profiles.md; unprocessable, naming the offending
// field by its path in the JSON format ("envelope.fields[2].name: …").
Status validate_wire_profile(const WireProfile& profile);

// The request for `context.message` to `context.endpoint` under `profile`,
// signed with the endpoint's secrets. Headers: content-type, user-agent, the
// profile's headers, the signature header(s), then the endpoint's custom
// headers. Pure. Fails when a secret does not suit the scheme, when a flat
// layout cannot read the payload, or when a header value would span lines.
Result<WireRequest> render_wire_request(const WireProfile& profile, const WireContext& context);

// One profile document (see docs/profiles.md); unprocessable errors name the
// field and say what is wrong, bad_request when the text is not JSON.
Result<WireProfile> parse_wire_profile(std::string_view json);

// A profile file: one profile document, or {"profiles":[…]}. Names must be
// unique within the file.
Result<std::vector<WireProfile>> parse_wire_profiles(std::string_view json);

// The profile as a document of the same format, every key present:
// parse_wire_profile(wire_profile_to_json(p)) == p for any valid p whose
// constants are in compact form (as parsing leaves them).
std::string wire_profile_to_json(const WireProfile& profile);

// The built-in profiles, standard-webhooks first. Parsed once, on first use,
// from builtin_profiles_json(), a {"profiles":[…]} file.
const std::vector<WireProfile>& builtin_profiles();
std::string_view builtin_profiles_json();
const WireProfile* find_builtin_profile(std::string_view name);
const WireProfile& standard_webhooks_profile();

// The profiles a server knows: the built-ins plus custom ones. Profiles are
// never removed or replaced, so the pointers handed out stay valid for the
// registry's lifetime; a mutex makes adding safe alongside lookups.
class WireProfiles {
 public:
  WireProfiles() = default;  // the built-ins only
  WireProfiles(const WireProfiles&) = delete;
  WireProfiles& operator=(const WireProfiles&) = delete;

  // Adds a custom profile: unprocessable if it breaks a rule, conflict if a
  // built-in or an earlier custom profile has its name.
  Status add(WireProfile profile);
  const WireProfile* find(std::string_view name) const;
  // Built-ins first, then custom profiles in the order they were added.
  std::vector<const WireProfile*> all() const;

 private:
  mutable std::shared_mutex mutex_;
  std::vector<std::unique_ptr<const WireProfile>> custom_;
};

// ---- Interface of the single-profile days, kept for the callers not yet moved to the above.

struct WireProfileInfo {
  std::string name;
  std::string description;
};

// The built-ins' names and descriptions.
const std::vector<WireProfileInfo>& builtin_wire_profiles();
bool is_known_wire_profile(std::string_view name);

// render_wire_request with the built-in named by endpoint.profile
// (standard-webhooks when it names none) and no delivery id.
Result<WireRequest> render_wire_request(const Message& message, const Endpoint& endpoint, UnixMillis now_ms,
                                        std::string_view user_agent);

// Whether a header's value may carry a credential and so must not be stored or logged.
bool is_sensitive_header(std::string_view lowercase_name);

}  // namespace ferry
