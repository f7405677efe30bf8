#pragma once

#include <string>
#include <string_view>

#include "core/message.hpp"

namespace ferry {

// Appends `text` to `out` as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view text);

// The Standard Webhooks body: {"type":…,"timestamp":<RFC 3339>,"data":<payload>}.
// Built by appending: the payload's bytes go out exactly as they were published.
std::string standard_webhooks_envelope(const Message& message);

}  // namespace ferry
