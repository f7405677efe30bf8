#pragma once

#include <string>
#include <string_view>

#include "core/message.hpp"
#include "core/result.hpp"
#include "core/wire_profile.hpp"

namespace ferry {

// Appends `text` to `out` as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view text);

// The Standard Webhooks body: {"type":…,"timestamp":<RFC 3339>,"data":<payload>}.
// Built by appending: the payload's bytes go out exactly as they were published.
std::string standard_webhooks_envelope(const Message& message);

// The event time as text in `format`: "2025-11-23T10:00:00.123Z", or digits.
std::string format_wire_timestamp(UnixMillis ms, TimestampFormat format);

// The body under `profile`, built by appending: the envelope fields in order
// (the id field holds `wire_id`), then, for a flat layout, the members of the
// payload object, each copied byte for byte. A member named like an envelope
// field is dropped; a payload that is not an object goes under "data".
// message.payload must be valid JSON (ingest checked it); fails only when a
// flat layout cannot read it.
Result<std::string> render_envelope(const WireProfile& profile, const WireContext& context, std::string_view wire_id);

}  // namespace ferry
