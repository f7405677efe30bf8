#include "core/envelope.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "core/time_format.hpp"

namespace ferry {

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

std::string standard_webhooks_envelope(const Message& message) {
  std::string body;
  body.reserve(message.payload.size() + message.type.size() + 64);
  body += "{\"type\":";
  append_json_string(body, message.type);
  body += ",\"timestamp\":";
  append_json_string(body, format_rfc3339(message.created_at_ms));
  body += ",\"data\":";
  body += message.payload;
  body.push_back('}');
  return body;
}

std::string format_wire_timestamp(UnixMillis ms, TimestampFormat format) {
  switch (format) {
    case TimestampFormat::iso8601: return format_rfc3339(ms);
    case TimestampFormat::epoch_ms: return std::to_string(ms);
    case TimestampFormat::epoch_s: return std::to_string(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  }
  return format_rfc3339(ms);
}

namespace {

namespace od = simdjson::ondemand;

// The parser keeps its buffers between calls, so one per thread.
od::parser& payload_parser() {
  thread_local od::parser parser;
  return parser;
}

bool is_json_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

std::string_view trim_json_space(std::string_view text) {
  while (!text.empty() && is_json_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_json_space(text.back())) text.remove_suffix(1);
  return text;
}

// simdjson's raw views run up to the next token, so they carry the
// whitespace that followed the value; the caller trims it.
simdjson::error_code raw_value(od::value& value, std::string_view& out) {
  od::json_type type{};
  if (auto error = value.type().get(type)) return error;
  if (type == od::json_type::object) {
    od::object object;
    if (auto error = value.get_object().get(object)) return error;
    return object.raw_json().get(out);
  }
  if (type == od::json_type::array) {
    od::array array;
    if (auto error = value.get_array().get(array)) return error;
    return array.raw_json().get(out);
  }
  out = value.raw_json_token();
  return simdjson::SUCCESS;
}

// The key as written, escapes and all, from the byte after its opening quote
// to its closing quote.
std::string_view raw_key(const char* begin, const char* limit) {
  const char* end = begin;
  while (end < limit && *end != '"') end += *end == '\\' ? 2 : 1;
  return std::string_view(begin, static_cast<std::size_t>(std::min(end, limit) - begin));
}

Error unreadable_payload() {
  return make_error(ErrorCode::unprocessable, "the payload is not a readable JSON value, so it cannot be spread");
}

// Appends ,"key":value for each member of the payload object whose name no
// envelope field takes. Keys and values are copied as published, so numbers
// such as 60.00 and escapes such as \u00e9 reach the receiver unchanged.
Status append_payload_members(std::string& body, std::string_view payload, const std::vector<EnvelopeField>& fields,
                              bool first) {
  const simdjson::padded_string padded(payload);
  od::document document;
  if (payload_parser().iterate(padded).get(document) != simdjson::SUCCESS) return unreadable_payload();
  od::object object;
  if (document.get_object().get(object) != simdjson::SUCCESS) return unreadable_payload();
  const char* const limit = padded.data() + padded.size();
  for (auto member : object) {
    od::field field;
    if (std::move(member).get(field) != simdjson::SUCCESS) return unreadable_payload();
    const std::string_view key_text = raw_key(field.key().raw(), limit);
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return unreadable_payload();
    std::string_view value;
    if (raw_value(field.value(), value) != simdjson::SUCCESS) return unreadable_payload();
    const bool taken = std::any_of(fields.begin(), fields.end(), [key](const auto& f) { return f.name == key; });
    if (taken) continue;
    if (!first) body.push_back(',');
    first = false;
    body.push_back('"');
    body.append(key_text);
    body += "\":";
    body.append(trim_json_space(value));
  }
  return {};
}

void append_field(std::string& body, const EnvelopeField& field, const WireContext& context, const WireProfile& profile,
                  std::string_view wire_id) {
  const Message& message = context.message;
  switch (field.source) {
    case FieldSource::id: append_json_string(body, wire_id); break;
    case FieldSource::type: append_json_string(body, message.type); break;
    case FieldSource::timestamp:
      if (profile.timestamp_format == TimestampFormat::iso8601) {
        append_json_string(body, format_rfc3339(message.created_at_ms));
      } else {
        body += format_wire_timestamp(message.created_at_ms, profile.timestamp_format);
      }
      break;
    case FieldSource::data: body += message.payload; break;
    case FieldSource::endpoint_id: append_json_string(body, context.endpoint.id); break;
    case FieldSource::delivery_id: append_json_string(body, context.delivery_id); break;
    case FieldSource::workspace_id: append_json_string(body, message.workspace_id); break;
    case FieldSource::test_mode: body += message.test ? "true" : "false"; break;
    case FieldSource::live_mode: body += message.test ? "false" : "true"; break;
    case FieldSource::constant: body += field.constant_json; break;
  }
}

}  // namespace

Result<std::string> render_envelope(const WireProfile& profile, const WireContext& context, std::string_view wire_id) {
  const std::string& payload = context.message.payload;
  std::string body;
  body.reserve(payload.size() + 64 + 32 * profile.fields.size());
  body.push_back('{');
  bool first = true;
  for (const auto& field : profile.fields) {
    if (!first) body.push_back(',');
    first = false;
    append_json_string(body, field.name);
    body.push_back(':');
    append_field(body, field, context, profile, wire_id);
  }
  if (profile.layout == EnvelopeLayout::flat) {
    const std::string_view trimmed = trim_json_space(payload);
    if (trimmed.starts_with('{')) {
      if (auto spread = append_payload_members(body, payload, profile.fields, first); !spread) return spread.error();
    } else {
      // Only an object has members to spread; anything else keeps a name.
      if (!first) body.push_back(',');
      body += "\"data\":";
      body += payload;
    }
  }
  body.push_back('}');
  return body;
}

}  // namespace ferry
