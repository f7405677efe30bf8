#include "core/wire_profile.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "core/envelope.hpp"
#include "core/signature.hpp"
#include "core/wire_profile_template.hpp"

namespace ferry {

std::string_view envelope_layout_name(EnvelopeLayout layout) {
  switch (layout) {
    case EnvelopeLayout::nested: return "nested";
    case EnvelopeLayout::flat: return "flat";
  }
  return "?";
}

std::string_view timestamp_format_name(TimestampFormat format) {
  switch (format) {
    case TimestampFormat::iso8601: return "iso8601";
    case TimestampFormat::epoch_ms: return "epoch_ms";
    case TimestampFormat::epoch_s: return "epoch_s";
  }
  return "?";
}

std::string_view signature_scheme_name(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::standard_webhooks: return "standard-webhooks";
    case SignatureScheme::hmac_sha256_hex: return "hmac-sha256-hex";
    case SignatureScheme::stripe: return "stripe";
  }
  return "?";
}

std::string_view field_source_name(FieldSource source) {
  switch (source) {
    case FieldSource::id: return "id";
    case FieldSource::type: return "type";
    case FieldSource::timestamp: return "timestamp";
    case FieldSource::data: return "data";
    case FieldSource::endpoint_id: return "endpoint_id";
    case FieldSource::delivery_id: return "delivery_id";
    case FieldSource::workspace_id: return "workspace_id";
    case FieldSource::test_mode: return "test_mode";
    case FieldSource::live_mode: return "live_mode";
    case FieldSource::constant: return "constant";
  }
  return "?";
}

std::string wire_message_id(const WireProfile& profile, std::string_view message_id) {
  if (profile.id_prefix.empty() || message_id.starts_with(profile.id_prefix)) return std::string(message_id);
  if (message_id.starts_with("msg_")) message_id.remove_prefix(4);
  return profile.id_prefix + std::string(message_id);
}

// ---- Validation

namespace {

constexpr std::size_t kMaxNameLength = 64;
constexpr std::size_t kMaxDescriptionLength = 1024;
constexpr std::size_t kMaxFields = 64;
constexpr std::size_t kMaxFieldNameLength = 128;
constexpr std::size_t kMaxIdPrefixLength = 32;
constexpr std::size_t kMaxHeaders = 32;
constexpr std::size_t kMaxHeaderValueLength = 1024;
constexpr std::size_t kMaxUserAgentLength = 256;

Error invalid(const std::string& path, const std::string& what) {
  return make_error(ErrorCode::unprocessable, path + ": " + what);
}

std::string json_quoted(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// RFC 9110 token characters.
bool is_header_token(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// Set by Ferry or by the HTTP client; a profile may not set them itself.
bool is_reserved_header(std::string_view lowercase_name, SignatureScheme scheme) {
  static constexpr std::string_view kAlways[] = {"content-type", "user-agent",        "content-length",
                                                 "host",         "transfer-encoding", "connection"};
  static constexpr std::string_view kStandardWebhooks[] = {"webhook-id", "webhook-timestamp", "webhook-signature"};
  if (std::find(std::begin(kAlways), std::end(kAlways), lowercase_name) != std::end(kAlways)) return true;
  return scheme == SignatureScheme::standard_webhooks &&
         std::find(std::begin(kStandardWebhooks), std::end(kStandardWebhooks), lowercase_name) !=
             std::end(kStandardWebhooks);
}

bool is_header_text(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
  });
}

Status validate_name(const WireProfile& profile) {
  const std::string& name = profile.name;
  const bool valid =
      !name.empty() && name.size() <= kMaxNameLength && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      });
  if (!valid) {
    return invalid("name", "must be 1 to 64 lowercase letters, digits, '-' or '_' (got " + json_quoted(name) + ")");
  }
  if (profile.description.size() > kMaxDescriptionLength) return invalid("description", "must be at most 1024 bytes");
  return {};
}

Status validate_envelope(const WireProfile& profile) {
  if (profile.fields.size() > kMaxFields) return invalid("envelope.fields", "at most 64 fields");
  std::size_t data_fields = 0;
  for (std::size_t i = 0; i < profile.fields.size(); ++i) {
    const EnvelopeField& field = profile.fields[i];
    const std::string path = "envelope.fields[" + std::to_string(i) + "]";
    if (field.name.empty() || field.name.size() > kMaxFieldNameLength) {
      return invalid(path + ".name", "must be 1 to 128 characters");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (profile.fields[j].name == field.name) {
        return invalid(path + ".name", json_quoted(field.name) + " is already the name of envelope.fields[" +
                                           std::to_string(j) + "]; field names must be unique");
      }
    }
    if (field.source == FieldSource::constant) {
      if (field.constant_json.empty() || !nlohmann::json::accept(field.constant_json)) {
        return invalid(path + ".constant", "must be a JSON value");
      }
    } else if (!field.constant_json.empty()) {
      return invalid(path + ".constant", "only a field whose value is \"constant\" takes one");
    }
    if (field.source == FieldSource::data) {
      if (profile.layout == EnvelopeLayout::flat) {
        return invalid(path + ".value",
                       "a flat layout spreads the payload's members beside the envelope fields, so it has no "
                       "\"data\" field");
      }
      ++data_fields;
    }
    if (profile.layout == EnvelopeLayout::flat && field.name == "data") {
      return invalid(path + ".name",
                     "a flat layout keeps \"data\" for payloads that are not objects; give this field another name");
    }
  }
  if (profile.layout == EnvelopeLayout::nested && data_fields != 1) {
    return invalid("envelope.fields", "a nested layout needs exactly one field whose value is \"data\" (found " +
                                          std::to_string(data_fields) + ")");
  }
  const bool prefix_valid = profile.id_prefix.size() <= kMaxIdPrefixLength &&
                            std::all_of(profile.id_prefix.begin(), profile.id_prefix.end(), [](char c) {
                              return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                            });
  if (!prefix_valid) {
    return invalid("envelope.id_prefix",
                   "must be at most 32 letters, digits, '_' or '-' (got " + json_quoted(profile.id_prefix) + ")");
  }
  return {};
}

Status validate_headers(const WireProfile& profile) {
  if (profile.headers.size() > kMaxHeaders) return invalid("headers", "at most 32 headers");
  const std::string signature_header = lowercase(profile.signature_header);
  for (std::size_t i = 0; i < profile.headers.size(); ++i) {
    const auto& [name, value] = profile.headers[i];
    const std::string path = "headers[" + json_quoted(name) + "]";
    if (!is_header_token(name)) return invalid(path, "not a valid HTTP header name");
    const std::string lower = lowercase(name);
    if (is_reserved_header(lower, profile.scheme)) return invalid(path, "is set by Ferry; a profile cannot set it");
    if (!signature_header.empty() && lower == signature_header) {
      return invalid(path, "is the signature header (signature.header); Ferry sets it");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (lowercase(profile.headers[j].first) == lower) {
        return invalid(path, "appears twice (header names are case-insensitive)");
      }
    }
    if (value.size() > kMaxHeaderValueLength) return invalid(path, "the value must be at most 1024 bytes");
    if (!is_header_text(value)) return invalid(path, "the value must be one line without control characters");
    if (auto bad = check_header_template(value); !bad.empty()) return invalid(path, bad);
  }
  return {};
}

Status validate_user_agent_and_signature(const WireProfile& profile) {
  const bool user_agent_valid =
      profile.user_agent.size() <= kMaxUserAgentLength &&
      std::all_of(profile.user_agent.begin(), profile.user_agent.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  if (!user_agent_valid) return invalid("user_agent", "must be at most 256 printable ASCII characters");
  if (profile.scheme == SignatureScheme::standard_webhooks) {
    if (!profile.signature_header.empty()) {
      return invalid("signature.header",
                     "only the hmac-sha256-hex and stripe schemes take a header; standard-webhooks always signs in "
                     "webhook-signature");
    }
    return {};
  }
  const std::string scheme(signature_scheme_name(profile.scheme));
  if (profile.signature_header.empty()) {
    return invalid("signature.header", "required by the scheme " + json_quoted(scheme));
  }
  if (!is_header_token(profile.signature_header)) {
    return invalid("signature.header", json_quoted(profile.signature_header) + " is not a valid HTTP header name");
  }
  if (is_reserved_header(lowercase(profile.signature_header), profile.scheme)) {
    return invalid("signature.header", json_quoted(profile.signature_header) + " is set by Ferry for another purpose");
  }
  return {};
}

}  // namespace

Status validate_wire_profile(const WireProfile& profile) {
  if (auto valid = validate_name(profile); !valid) return valid;
  if (auto valid = validate_envelope(profile); !valid) return valid;
  if (auto valid = validate_headers(profile); !valid) return valid;
  return validate_user_agent_and_signature(profile);
}

// ---- Rendering

namespace {

Status append_signature_headers(const WireProfile& profile, const WireContext& context, std::string_view wire_id,
                                long long send_seconds, WireRequest& request) {
  const auto& secrets = context.endpoint.secrets;
  switch (profile.scheme) {
    case SignatureScheme::standard_webhooks: {
      std::vector<std::string> keys;
      keys.reserve(secrets.size());
      for (const auto& secret : secrets) {
        auto key = secret_key(secret);
        if (!key) return key.error();
        keys.push_back(std::move(*key));
      }
      request.headers.emplace_back("webhook-id", std::string(wire_id));
      request.headers.emplace_back("webhook-timestamp", std::to_string(send_seconds));
      request.headers.emplace_back("webhook-signature",
                                   standard_webhooks_signature_header(keys, wire_id, send_seconds, request.body));
      return {};
    }
    case SignatureScheme::hmac_sha256_hex:
      // One signature fits the header, so only the newest secret signs;
      // receivers must switch secrets when they are rotated.
      if (secrets.empty()) return make_error(ErrorCode::unprocessable, "the endpoint has no signing secret");
      request.headers.emplace_back(profile.signature_header, hmac_sha256_hex(secrets.front(), request.body));
      return {};
    case SignatureScheme::stripe:
      if (secrets.empty()) return make_error(ErrorCode::unprocessable, "the endpoint has no signing secret");
      request.headers.emplace_back(profile.signature_header,
                                   stripe_signature_header(secrets, send_seconds, request.body));
      return {};
  }
  return make_error(ErrorCode::internal, "unknown signature scheme");
}

}  // namespace

Result<WireRequest> render_wire_request(const WireProfile& profile, const WireContext& context) {
  const std::string wire_id = wire_message_id(profile, context.message.id);
  auto body = render_envelope(profile, context, wire_id);
  if (!body) return body.error();
  WireRequest request;
  request.body = std::move(*body);
  const long long send_seconds = context.now_ms / 1000;
  request.headers.reserve(5 + profile.headers.size() + context.endpoint.headers.size());
  request.headers.emplace_back("content-type", "application/json");
  request.headers.emplace_back(
      "user-agent", profile.user_agent.empty() ? std::string(context.default_user_agent) : profile.user_agent);
  if (!profile.headers.empty()) {
    const TemplateValues values{
        .wire_id = wire_id,
        .message = context.message,
        .endpoint_id = context.endpoint.id,
        .delivery_id = context.delivery_id,
        .timestamp_format = profile.timestamp_format,
        .send_seconds = send_seconds,
    };
    for (const auto& [name, value_template] : profile.headers) {
      request.headers.emplace_back(name, expand_header_template(value_template, values));
    }
  }
  if (auto signed_ = append_signature_headers(profile, context, wire_id, send_seconds, request); !signed_) {
    return signed_.error();
  }
  // Ids and types come from producers; a line break in one must not smuggle
  // a header into the request.
  for (const auto& [name, value] : request.headers) {
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return make_error(ErrorCode::unprocessable, "the " + name + " header would contain a line break");
    }
  }
  // An endpoint's custom header never stands beside or in for one the
  // profile sets (a second signature header would confuse receivers).
  const std::size_t profile_headers = request.headers.size();
  for (const auto& header : context.endpoint.headers) {
    const bool taken =
        std::any_of(request.headers.begin(), request.headers.begin() + static_cast<long>(profile_headers),
                    [&](const auto& set) { return lowercase(set.first) == lowercase(header.first); });
    if (!taken) request.headers.push_back(header);
  }
  return request;
}

// ---- Registry

Status WireProfiles::add(WireProfile profile) {
  if (auto valid = validate_wire_profile(profile); !valid) return valid;
  if (find_builtin_profile(profile.name) != nullptr) {
    return make_error(ErrorCode::conflict, "\"" + profile.name + "\" is a built-in profile; choose another name");
  }
  std::unique_lock lock(mutex_);
  for (const auto& custom : custom_) {
    if (custom->name == profile.name) {
      return make_error(ErrorCode::conflict, "a profile named \"" + profile.name + "\" already exists");
    }
  }
  custom_.push_back(std::make_unique<const WireProfile>(std::move(profile)));
  return {};
}

const WireProfile* WireProfiles::find(std::string_view name) const {
  if (const WireProfile* builtin = find_builtin_profile(name)) return builtin;
  std::shared_lock lock(mutex_);
  for (const auto& custom : custom_) {
    if (custom->name == name) return custom.get();
  }
  return nullptr;
}

std::vector<const WireProfile*> WireProfiles::all() const {
  std::vector<const WireProfile*> profiles;
  for (const auto& builtin : builtin_profiles()) profiles.push_back(&builtin);
  std::shared_lock lock(mutex_);
  for (const auto& custom : custom_) profiles.push_back(custom.get());
  return profiles;
}

// ---- Interface of the single-profile days

const std::vector<WireProfileInfo>& builtin_wire_profiles() {
  static const std::vector<WireProfileInfo> infos = [] {
    std::vector<WireProfileInfo> list;
    for (const auto& profile : builtin_profiles()) list.push_back({profile.name, profile.description});
    return list;
  }();
  return infos;
}

bool is_known_wire_profile(std::string_view name) { return find_builtin_profile(name) != nullptr; }

Result<WireRequest> render_wire_request(const Message& message, const Endpoint& endpoint, UnixMillis now_ms,
                                        std::string_view user_agent) {
  const WireProfile* profile = find_builtin_profile(endpoint.profile);
  const WireContext context{
      .message = message,
      .endpoint = endpoint,
      .delivery_id = {},
      .now_ms = now_ms,
      .default_user_agent = user_agent,
  };
  return render_wire_request(profile != nullptr ? *profile : standard_webhooks_profile(), context);
}

bool is_sensitive_header(std::string_view name) {
  static constexpr std::string_view kNames[] = {"authorization", "proxy-authorization", "cookie"};
  static constexpr std::string_view kParts[] = {"token", "secret", "key", "password", "auth"};
  for (auto exact : kNames) {
    if (name == exact) return true;
  }
  for (auto part : kParts) {
    if (name.find(part) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace ferry
