// The JSON format of wire profiles (docs/profiles.md): parsing with errors
// that name the field, and writing the same format back.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <initializer_list>
#include <optional>

#include "core/wire_profile.hpp"

namespace ferry {

namespace {

// Ordered, so headers and fields keep the order the file gives them.
using Json = nlohmann::ordered_json;

constexpr EnvelopeLayout kLayouts[] = {EnvelopeLayout::nested, EnvelopeLayout::flat};
constexpr TimestampFormat kTimestampFormats[] = {TimestampFormat::iso8601, TimestampFormat::epoch_ms,
                                                 TimestampFormat::epoch_s};
constexpr SignatureScheme kSchemes[] = {SignatureScheme::standard_webhooks, SignatureScheme::hmac_sha256_hex,
                                        SignatureScheme::stripe};
constexpr FieldSource kSources[] = {FieldSource::id,           FieldSource::type,        FieldSource::timestamp,
                                    FieldSource::data,         FieldSource::endpoint_id, FieldSource::delivery_id,
                                    FieldSource::workspace_id, FieldSource::test_mode,   FieldSource::live_mode,
                                    FieldSource::constant};

Error invalid(const std::string& path, const std::string& what) {
  return make_error(ErrorCode::unprocessable, path + ": " + what);
}

std::string join_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string json_quoted(std::string_view text) {
  return Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// "a, b or c"
std::string one_of(std::initializer_list<std::string_view> names) {
  std::string out;
  std::size_t i = 0;
  for (auto name : names) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += name;
    ++i;
  }
  return out;
}

template <class Enum, std::size_t N>
std::string one_of(const Enum (&values)[N], std::string_view (*name_of)(Enum)) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) out += i + 1 == N ? " or " : ", ";
    out += name_of(values[i]);
  }
  return out;
}

template <class Enum, std::size_t N>
std::optional<Enum> enum_named(std::string_view name, const Enum (&values)[N], std::string_view (*name_of)(Enum)) {
  for (Enum value : values) {
    if (name_of(value) == name) return value;
  }
  return std::nullopt;
}

// A typo must not pass silently, so every object refuses keys it does not know.
Status check_keys(const Json& object, const std::string& path, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return invalid(join_path(path, key),
                     "unknown key; " + (path.empty() ? std::string("a profile") : path) + " takes " + one_of(allowed));
    }
  }
  return {};
}

// The string at object[key]: nullopt when absent, an error when not a string.
Result<std::optional<std::string>> optional_string(const Json& object, const std::string& path, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return std::optional<std::string>();
  if (!it->is_string()) return invalid(join_path(path, key), "must be a string");
  return std::optional<std::string>(it->get_ref<const std::string&>());
}

Result<std::string> required_string(const Json& object, const std::string& path, const char* key) {
  auto text = optional_string(object, path, key);
  if (!text) return text.error();
  if (!*text) return invalid(join_path(path, key), "is required");
  return std::move(**text);
}

template <class Enum, std::size_t N>
Status read_enum(const Json& object, const std::string& path, const char* key, const char* what,
                 const Enum (&values)[N], std::string_view (*name_of)(Enum), Enum& out) {
  auto text = optional_string(object, path, key);
  if (!text) return text.error();
  if (!*text) return {};
  auto value = enum_named(**text, values, name_of);
  if (!value) {
    return invalid(join_path(path, key), "unknown " + std::string(what) + " " + json_quoted(**text) + "; expected " +
                                             one_of(values, name_of));
  }
  out = *value;
  return {};
}

Status read_field(const Json& item, const std::string& path, EnvelopeField& field) {
  if (!item.is_object()) return invalid(path, "must be an object {\"name\", \"value\"}");
  if (auto keys = check_keys(item, path, {"name", "value", "constant"}); !keys) return keys;
  auto name = required_string(item, path, "name");
  if (!name) return name.error();
  field.name = std::move(*name);
  auto value = required_string(item, path, "value");
  if (!value) return value.error();
  auto source = enum_named(*value, kSources, field_source_name);
  if (!source) {
    return invalid(path + ".value",
                   "unknown value " + json_quoted(*value) + "; expected " + one_of(kSources, field_source_name));
  }
  field.source = *source;
  const auto constant = item.find("constant");
  if (field.source == FieldSource::constant) {
    if (constant == item.end()) return invalid(path + ".constant", "required when the value is \"constant\"");
    field.constant_json = constant->dump(-1, ' ', false, Json::error_handler_t::replace);
  } else if (constant != item.end()) {
    return invalid(path + ".constant", "only a field whose value is \"constant\" takes one");
  }
  return {};
}

Status read_envelope(const Json& document, WireProfile& profile) {
  const auto envelope = document.find("envelope");
  if (envelope == document.end()) return invalid("envelope", "is required");
  if (!envelope->is_object()) return invalid("envelope", "must be an object");
  if (auto keys = check_keys(*envelope, "envelope", {"layout", "id_prefix", "timestamp_format", "fields"}); !keys) {
    return keys;
  }
  if (auto layout =
          read_enum(*envelope, "envelope", "layout", "layout", kLayouts, envelope_layout_name, profile.layout);
      !layout) {
    return layout;
  }
  auto prefix = optional_string(*envelope, "envelope", "id_prefix");
  if (!prefix) return prefix.error();
  profile.id_prefix = prefix->value_or("");
  if (auto format = read_enum(*envelope, "envelope", "timestamp_format", "timestamp format", kTimestampFormats,
                              timestamp_format_name, profile.timestamp_format);
      !format) {
    return format;
  }
  const auto fields = envelope->find("fields");
  if (fields == envelope->end()) return invalid("envelope.fields", "is required");
  if (!fields->is_array()) return invalid("envelope.fields", "must be an array of {\"name\", \"value\"} objects");
  for (std::size_t i = 0; i < fields->size(); ++i) {
    EnvelopeField field;
    if (auto read = read_field((*fields)[i], "envelope.fields[" + std::to_string(i) + "]", field); !read) return read;
    profile.fields.push_back(std::move(field));
  }
  return {};
}

Status read_headers(const Json& document, WireProfile& profile) {
  const auto headers = document.find("headers");
  if (headers == document.end()) return {};
  if (headers->is_object()) {
    for (const auto& [name, value] : headers->items()) {
      if (!value.is_string()) return invalid("headers[" + json_quoted(name) + "]", "must be a string");
      profile.headers.emplace_back(name, value.get_ref<const std::string&>());
    }
    return {};
  }
  if (headers->is_array()) {
    for (std::size_t i = 0; i < headers->size(); ++i) {
      const Json& pair = (*headers)[i];
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
        return invalid("headers[" + std::to_string(i) + "]", "must be a [name, value] pair of strings");
      }
      profile.headers.emplace_back(pair[0].get_ref<const std::string&>(), pair[1].get_ref<const std::string&>());
    }
    return {};
  }
  return invalid("headers", "must be an object of name: template strings, or an array of [name, template] pairs");
}

Status read_signature(const Json& document, WireProfile& profile) {
  const auto signature = document.find("signature");
  if (signature == document.end()) return {};  // Standard Webhooks, the default
  if (!signature->is_object()) return invalid("signature", "must be an object {\"scheme\", \"header\"}");
  if (auto keys = check_keys(*signature, "signature", {"scheme", "header"}); !keys) return keys;
  if (!signature->contains("scheme")) return invalid("signature.scheme", "is required");
  if (auto scheme =
          read_enum(*signature, "signature", "scheme", "scheme", kSchemes, signature_scheme_name, profile.scheme);
      !scheme) {
    return scheme;
  }
  auto header = optional_string(*signature, "signature", "header");
  if (!header) return header.error();
  profile.signature_header = header->value_or("");
  return {};
}

Result<WireProfile> profile_from_json(const Json& document) {
  if (!document.is_object()) return make_error(ErrorCode::unprocessable, "a wire profile must be a JSON object");
  if (auto keys = check_keys(document, "", {"name", "description", "envelope", "headers", "user_agent", "signature"});
      !keys) {
    return keys.error();
  }
  WireProfile profile;
  auto name = required_string(document, "", "name");
  if (!name) return name.error();
  profile.name = std::move(*name);
  auto description = optional_string(document, "", "description");
  if (!description) return description.error();
  profile.description = description->value_or("");
  if (auto envelope = read_envelope(document, profile); !envelope) return envelope.error();
  if (auto headers = read_headers(document, profile); !headers) return headers.error();
  auto user_agent = optional_string(document, "", "user_agent");
  if (!user_agent) return user_agent.error();
  profile.user_agent = user_agent->value_or("");
  if (auto signature = read_signature(document, profile); !signature) return signature.error();
  if (auto valid = validate_wire_profile(profile); !valid) return valid.error();
  return profile;
}

Status parse_document(std::string_view text, Json& out) {
  try {
    out = Json::parse(text.begin(), text.end());
    return {};
  } catch (const Json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, …": keep what follows the tag.
    std::string_view what = e.what();
    if (const auto tag_end = what.find("] "); tag_end != std::string_view::npos) what.remove_prefix(tag_end + 2);
    return make_error(ErrorCode::bad_request, "not valid JSON: " + std::string(what));
  }
}

}  // namespace

Result<WireProfile> parse_wire_profile(std::string_view json) {
  Json document;
  if (auto parsed = parse_document(json, document); !parsed) return parsed.error();
  return profile_from_json(document);
}

Result<std::vector<WireProfile>> parse_wire_profiles(std::string_view json) {
  Json document;
  if (auto parsed = parse_document(json, document); !parsed) return parsed.error();
  if (!document.is_object() || !document.contains("profiles")) {
    auto profile = profile_from_json(document);
    if (!profile) return profile.error();
    return std::vector<WireProfile>{std::move(*profile)};
  }
  for (const auto& [key, value] : document.items()) {
    if (key != "profiles") {
      return invalid(key, "unknown key; a file with \"profiles\" holds nothing else");
    }
  }
  const Json& list = document["profiles"];
  if (!list.is_array()) return invalid("profiles", "must be an array of profiles");
  std::vector<WireProfile> profiles;
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string where = "profiles[" + std::to_string(i) + "]";
    if (list[i].is_object() && list[i].contains("name") && list[i]["name"].is_string()) {
      where += " (" + json_quoted(list[i]["name"].get_ref<const std::string&>()) + ")";
    }
    auto profile = profile_from_json(list[i]);
    if (!profile) return make_error(profile.error().code, where + ": " + profile.error().message);
    for (std::size_t j = 0; j < profiles.size(); ++j) {
      if (profiles[j].name == profile->name) {
        return invalid("profiles[" + std::to_string(i) + "].name",
                       json_quoted(profile->name) + " is already the name of profiles[" + std::to_string(j) + "]");
      }
    }
    profiles.push_back(std::move(*profile));
  }
  return profiles;
}

std::string wire_profile_to_json(const WireProfile& profile) {
  Json fields = Json::array();
  for (const auto& field : profile.fields) {
    Json item;
    item["name"] = field.name;
    item["value"] = std::string(field_source_name(field.source));
    if (field.source == FieldSource::constant) {
      // A hand-built profile may hold text that is not JSON; keep it, as a string.
      Json constant = Json::parse(field.constant_json, nullptr, false);
      item["constant"] = constant.is_discarded() ? Json(field.constant_json) : std::move(constant);
    }
    fields.push_back(std::move(item));
  }
  Json headers = Json::object();
  for (const auto& [name, value] : profile.headers) headers[name] = value;
  Json signature;
  signature["scheme"] = std::string(signature_scheme_name(profile.scheme));
  if (!profile.signature_header.empty()) signature["header"] = profile.signature_header;

  Json document;
  document["name"] = profile.name;
  document["description"] = profile.description;
  document["envelope"]["layout"] = std::string(envelope_layout_name(profile.layout));
  document["envelope"]["id_prefix"] = profile.id_prefix;
  document["envelope"]["timestamp_format"] = std::string(timestamp_format_name(profile.timestamp_format));
  document["envelope"]["fields"] = std::move(fields);
  document["headers"] = std::move(headers);
  document["user_agent"] = profile.user_agent;
  document["signature"] = std::move(signature);
  return document.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace ferry
