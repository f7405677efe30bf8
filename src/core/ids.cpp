#include "core/ids.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace ferry {

namespace {
constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}

void random_bytes(unsigned char* out, std::size_t size) {
  // RAND_bytes only fails when the OS entropy source is broken; continuing
  // would hand out predictable secrets, so stopping is the safe answer.
  if (RAND_bytes(out, static_cast<int>(size)) != 1) std::abort();
}

namespace {
// Ids and retry jitter need unpredictable bits, not a call into OpenSSL's
// generator for each (a lock and a generate every time, the costliest step
// of publishing a large batch). Each thread draws them from a pool filled by
// the same generator 4 KiB at a time. Secrets still call random_bytes.
void pooled_random_bytes(unsigned char* out, std::size_t size) {
  thread_local std::array<unsigned char, 4096> pool{};
  thread_local std::size_t used = pool.size();
  if (used + size > pool.size()) {
    random_bytes(pool.data(), pool.size());
    used = 0;
  }
  std::memcpy(out, pool.data() + used, size);
  // Handed-out bytes are not kept around.
  std::memset(pool.data() + used, 0, size);
  used += size;
}
}  // namespace

double random_unit() {
  std::uint64_t value = 0;
  pooled_random_bytes(reinterpret_cast<unsigned char*>(&value), sizeof value);
  return static_cast<double>(value >> 11) * 0x1.0p-53;
}

namespace {
// The random part of the last id, and its millisecond. Within one
// millisecond each id is the previous one plus one (ULID's monotonic mode),
// so ids made one after the other in this process sort in that order: two
// messages published within a millisecond list newest first as they should.
struct LastId {
  std::mutex mutex;
  UnixMillis millis = -1;
  std::array<unsigned char, 10> random{};
};

std::array<unsigned char, 10> next_random_part(UnixMillis now_ms) {
  static LastId last;
  std::array<unsigned char, 10> random{};
  pooled_random_bytes(random.data(), random.size());
  std::lock_guard lock(last.mutex);
  if (now_ms == last.millis) {
    random = last.random;
    // Plus one, carrying; 80 bits do not run out within a millisecond.
    for (auto digit = random.rbegin(); digit != random.rend() && ++*digit == 0; ++digit) {
    }
  }
  last.millis = now_ms;
  last.random = random;
  return random;
}
}  // namespace

std::string new_id(std::string_view prefix, UnixMillis now_ms) {
  std::array<unsigned char, 16> bits{};
  auto millis = static_cast<std::uint64_t>(now_ms);
  for (int i = 5; i >= 0; --i) {
    bits[static_cast<std::size_t>(i)] = static_cast<unsigned char>(millis & 0xFF);
    millis >>= 8;
  }
  const auto random = next_random_part(now_ms);
  std::copy(random.begin(), random.end(), bits.begin() + 6);

  // 128 bits as 26 base32 digits, most significant first: read as a 130-bit
  // number whose top 2 bits are zero.
  std::string id;
  id.reserve(prefix.size() + 27);
  id.append(prefix);
  id.push_back('_');
  auto bit_at = [&bits](int position) -> unsigned {  // position 0 = most significant of the 130
    const int data_bit = position - 2;
    if (data_bit < 0) return 0;
    return (bits[static_cast<std::size_t>(data_bit / 8)] >> (7 - data_bit % 8)) & 1U;
  };
  std::array<char, 26> digits{};
  for (int digit = 0; digit < 26; ++digit) {
    unsigned value = 0;
    for (int bit = 0; bit < 5; ++bit) value = (value << 1) | bit_at(digit * 5 + bit);
    digits[static_cast<std::size_t>(digit)] = kCrockford[value];
  }
  id.append(digits.data(), digits.size());
  return id;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto byte = static_cast<unsigned char>(c);
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  const auto value = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int high = value(hex[i]);
    const int low = value(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
  }
  return out;
}

}  // namespace ferry
