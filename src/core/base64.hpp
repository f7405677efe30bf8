#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ferry {

// Standard base64 with padding (RFC 4648 section 4).
std::string base64_encode(std::string_view bytes);
// Strict: rejects characters outside the alphabet and bad padding.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace ferry
