#pragma once

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

namespace ferry {

// "250ms", "5s", "5m", "2h", "1d", or a bare number of seconds ("1.5").
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// A comma-separated list of durations, e.g. a retry schedule.
std::optional<std::vector<std::chrono::milliseconds>> parse_duration_list(std::string_view text);

}  // namespace ferry
