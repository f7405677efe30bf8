#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace ferry {

// One address block. IPv4 blocks are kept in their IPv4-mapped IPv6 form
// (::ffff:a.b.c.d/96+n) so that one comparison serves both families.
struct Cidr {
  std::array<std::uint8_t, 16> address{};
  int prefix_length = 0;  // in bits of the 128-bit form

  bool contains(const std::array<std::uint8_t, 16>& candidate) const;
  // "10.0.0.0/8" or "fc00::/7": IPv4 blocks are shown in IPv4 notation.
  std::string to_string() const;
};

// Decides which addresses deliveries may connect to (the SSRF guard).
//
// Loopback, private, link-local, unique-local, multicast and other
// non-public blocks are refused by default, because a subscriber URL is
// untrusted input and must not reach the server's own network (cloud metadata
// at 169.254.169.254, admin ports on localhost...). Operators re-allow blocks
// with an allow-list (`--allow-targets`), e.g. for receivers on a private
// network or on localhost in tests.
//
// IPv6 addresses that carry an IPv4 address (IPv4-mapped ::ffff:0:0/96,
// IPv4-compatible ::/96, NAT64 64:ff9b::/96) are judged by that IPv4
// address too, because the kernel or a NAT64 gateway turns them into a
// connection to it.
//
// Pure code, no I/O; immutable after parse(), so safe to share across threads.
class TargetPolicy {
 public:
  // Refuses the built-in blocks and allows nothing extra.
  TargetPolicy() = default;

  // Parses an allow-list: comma-separated CIDRs ("127.0.0.0/8, ::1/128");
  // a bare address means a single host. Blank entries are skipped.
  static Result<TargetPolicy> parse(std::string_view comma_separated_cidrs);

  // Why a connection to `address` (AF_INET or AF_INET6) is refused, e.g.
  // "127.0.0.1 is a loopback address"; nullopt when it is allowed. Other
  // families are refused.
  std::optional<std::string> refusal_reason(const sockaddr* address) const;

  // The same judgment for a URL's host when it is an IP literal: dotted or
  // bracketed IPv6 ("[::1]", with an optional zone "%25eth0"), or IPv4 in
  // any spelling inet_aton accepts ("2130706433", "0177.0.0.1", "0x7f.1").
  // Host names give nullopt: they are judged when connecting, by address.
  std::optional<std::string> refusal_reason_for_literal_host(std::string_view host) const;

  const std::vector<Cidr>& allowed() const { return allowed_; }

 private:
  std::optional<std::string> judge(const std::array<std::uint8_t, 16>& address, const std::string& shown) const;
  bool is_allowed(const std::array<std::uint8_t, 16>& address) const;

  std::vector<Cidr> allowed_;
};

}  // namespace ferry
