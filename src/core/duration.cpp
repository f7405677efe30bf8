#include "core/duration.hpp"

#include <charconv>
#include <cmath>

namespace ferry {

namespace {
std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}
}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  text = trim(text);
  std::size_t unit_start = text.find_first_not_of("0123456789.");
  std::string_view number = text.substr(0, unit_start);
  std::string_view unit = unit_start == std::string_view::npos ? "s" : text.substr(unit_start);
  if (number.empty()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size() || value < 0) return std::nullopt;
  double scale = 0;
  if (unit == "ms") scale = 1;
  else if (unit == "s") scale = 1000;
  else if (unit == "m") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else if (unit == "d") scale = 86'400'000;
  else return std::nullopt;
  const double millis = value * scale;
  if (millis > 1e15) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(millis)));
}

std::optional<std::vector<std::chrono::milliseconds>> parse_duration_list(std::string_view text) {
  std::vector<std::chrono::milliseconds> out;
  while (true) {
    const std::size_t comma = text.find(',');
    auto item = parse_duration(text.substr(0, comma));
    if (!item) return std::nullopt;
    out.push_back(*item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace ferry
