#pragma once

#include <string_view>

namespace ferry {

inline constexpr std::size_t kMaxEventTypeLength = 128;

// A dotted name: segments of [A-Za-z0-9_-], separated by single dots.
bool is_valid_event_type_name(std::string_view name);

// A subscription filter entry: an event type name, "group.*" (every type
// under that dotted prefix, at any depth) or "*" (every type).
bool is_valid_type_filter(std::string_view pattern);

// An event type flag ("PASSIVE", "deprecated"): 1 to 64 of [A-Za-z0-9_-].
bool is_valid_event_flag(std::string_view flag);

// Whether one filter entry selects `type`.
bool type_filter_matches(std::string_view pattern, std::string_view type);

}  // namespace ferry
