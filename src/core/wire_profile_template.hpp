#pragma once

#include <string>
#include <string_view>

#include "core/message.hpp"
#include "core/wire_profile.hpp"

namespace ferry {

// Header templates of wire profiles: text with placeholders such as {type};
// "{{" stands for a literal "{". Shared by validation and rendering so both
// read templates the same way.

inline constexpr std::string_view kHeaderPlaceholders[] = {
    "id",          "type",        "timestamp",    "timestamp_ms", "timestamp_s",
    "delivery_id", "endpoint_id", "workspace_id", "send_time_s",
};

struct TemplateValues {
  std::string_view wire_id;
  const Message& message;
  std::string_view endpoint_id;
  std::string_view delivery_id;
  TimestampFormat timestamp_format = TimestampFormat::iso8601;
  long long send_seconds = 0;
};

// "" when `value_template` is well formed, else what is wrong with it.
std::string check_header_template(std::string_view value_template);

// The template with its placeholders filled in; one that is not well formed
// keeps the text it cannot read.
std::string expand_header_template(std::string_view value_template, const TemplateValues& values);

}  // namespace ferry
