#include "core/wire_profile_template.hpp"

#include <algorithm>

#include "core/envelope.hpp"

namespace ferry {

namespace {

bool is_placeholder(std::string_view name) {
  return std::find(std::begin(kHeaderPlaceholders), std::end(kHeaderPlaceholders), name) !=
         std::end(kHeaderPlaceholders);
}

// Walks the template, handing literal text and placeholder names to the
// callbacks. Text it cannot read goes out as literal text, so rendering a
// template that skipped validation loses nothing. Returns the first problem,
// or "".
template <class OnText, class OnPlaceholder>
std::string scan_template(std::string_view text, OnText on_text, OnPlaceholder on_placeholder) {
  std::string problem;
  while (!text.empty()) {
    const std::size_t open = text.find('{');
    if (open == std::string_view::npos) {
      on_text(text);
      break;
    }
    on_text(text.substr(0, open));
    text.remove_prefix(open);
    if (text.starts_with("{{")) {
      on_text("{");
      text.remove_prefix(2);
      continue;
    }
    const std::size_t close = text.find('}');
    if (close == std::string_view::npos) {
      on_text(text);
      if (problem.empty()) problem = "an unclosed '{' (write \"{{\" for a literal '{')";
      break;
    }
    const std::string_view name = text.substr(1, close - 1);
    if (is_placeholder(name)) {
      on_placeholder(name);
    } else {
      on_text(text.substr(0, close + 1));
      if (problem.empty()) {
        std::string known;
        for (auto placeholder : kHeaderPlaceholders) {
          known += (known.empty() ? "{" : ", {") + std::string(placeholder) + "}";
        }
        problem = "unknown placeholder {" + std::string(name) + "}; the known ones are " + known;
      }
    }
    text.remove_prefix(close + 1);
  }
  return problem;
}

std::string placeholder_value(std::string_view name, const TemplateValues& values) {
  const UnixMillis event_ms = values.message.created_at_ms;
  if (name == "id") return std::string(values.wire_id);
  if (name == "type") return values.message.type;
  if (name == "timestamp") return format_wire_timestamp(event_ms, values.timestamp_format);
  if (name == "timestamp_ms") return format_wire_timestamp(event_ms, TimestampFormat::epoch_ms);
  if (name == "timestamp_s") return format_wire_timestamp(event_ms, TimestampFormat::epoch_s);
  if (name == "delivery_id") return std::string(values.delivery_id);
  if (name == "endpoint_id") return std::string(values.endpoint_id);
  if (name == "workspace_id") return values.message.workspace_id;
  if (name == "send_time_s") return std::to_string(values.send_seconds);
  return "{" + std::string(name) + "}";
}

}  // namespace

std::string check_header_template(std::string_view value_template) {
  const auto ignore = [](std::string_view) {};
  return scan_template(value_template, ignore, ignore);
}

std::string expand_header_template(std::string_view value_template, const TemplateValues& values) {
  std::string out;
  scan_template(
      value_template, [&out](std::string_view text) { out.append(text); },
      [&](std::string_view name) { out += placeholder_value(name, values); });
  return out;
}

}  // namespace ferry
