#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace ferry {

// A new unique id: `prefix` + "_" + 26 Crockford base32 characters encoding
// 48 bits of milliseconds then 80 random bits (the ULID layout). Ids of one
// prefix sort by creation time, which is what cursor pagination relies on;
// ids this process makes within one millisecond sort in the order made.
// Safe for concurrent use.
std::string new_id(std::string_view prefix, UnixMillis now_ms);

// Fills `out` with cryptographically secure random bytes.
void random_bytes(unsigned char* out, std::size_t size);

// A uniformly distributed double in [0, 1), from the secure generator.
double random_unit();

// Lowercase hex of the bytes.
std::string to_hex(std::string_view bytes);

// The bytes of lowercase hex, as to_hex writes it; nullopt for an odd length
// or any other character (uppercase included, so that each value has one
// spelling).
std::optional<std::string> from_hex(std::string_view hex);

}  // namespace ferry
