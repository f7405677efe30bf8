#include "core/envelope.hpp"

#include <cstdio>

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

}  // namespace ferry
