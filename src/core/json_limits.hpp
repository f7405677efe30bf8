#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ferry {

// Deepest nesting of arrays and objects accepted in any JSON Ferry is sent
// (API bodies, published payloads). Payloads go on to every subscriber, and
// many receivers' parsers recurse: a payload 100,000 levels deep would be
// stored and then crash them. Real events stay within a dozen levels.
inline constexpr std::size_t kMaxJsonDepth = 64;

// Whether `text` opens more than `limit` arrays or objects inside each other.
// Counts brackets outside strings only; says nothing of whether the text is
// valid JSON (the parser that follows decides that). Linear, no recursion.
bool json_deeper_than(std::string_view text, std::size_t limit);

// The error message for a text deeper than kMaxJsonDepth.
std::string json_too_deep_message();

}  // namespace ferry
