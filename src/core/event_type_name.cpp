#include "core/event_type_name.hpp"

namespace ferry {

namespace {
bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}
}  // namespace

bool is_valid_event_type_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxEventTypeLength) return false;
  bool segment_empty = true;
  for (char c : name) {
    if (c == '.') {
      if (segment_empty) return false;
      segment_empty = true;
    } else if (is_name_char(c)) {
      segment_empty = false;
    } else {
      return false;
    }
  }
  return !segment_empty;
}

bool is_valid_type_filter(std::string_view pattern) {
  if (pattern == "*") return true;
  if (pattern.ends_with(".*")) return is_valid_event_type_name(pattern.substr(0, pattern.size() - 2));
  return is_valid_event_type_name(pattern);
}

bool type_filter_matches(std::string_view pattern, std::string_view type) {
  if (pattern == "*") return true;
  if (pattern.ends_with(".*")) {
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);  // keeps the dot
    return type.size() > prefix.size() && type.starts_with(prefix);
  }
  return pattern == type;
}

bool is_valid_event_flag(std::string_view flag) {
  if (flag.empty() || flag.size() > 64) return false;
  for (char c : flag) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace ferry
