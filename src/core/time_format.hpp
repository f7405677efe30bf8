#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace ferry {

// "2026-11-23T10:00:00.123Z": UTC, millisecond precision.
std::string format_rfc3339(UnixMillis ms);

// Parses an RFC 3339 date-time ("2026-11-23T10:00:00Z", fractions and
// numeric offsets allowed) or a plain integer of epoch milliseconds.
std::optional<UnixMillis> parse_time(std::string_view text);

}  // namespace ferry
