#include "delivery/target_policy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

namespace ferry {

namespace {

using Address = std::array<std::uint8_t, 16>;

constexpr int kIpv4PrefixOffset = 96;  // bits before the IPv4 part of ::ffff:a.b.c.d

struct RefusedBlock {
  const char* cidr;
  const char* what;  // completes "<address> is ..."
};

// Refused unless allowed. The first match names the reason, so narrower
// blocks come before the wider ones that contain them (broadcast before 240/4).
constexpr RefusedBlock kRefusedBlocks[] = {
    {"0.0.0.0/8", "a \"this network\" address"},
    {"127.0.0.0/8", "a loopback address"},
    {"10.0.0.0/8", "a private address"},
    {"172.16.0.0/12", "a private address"},
    {"192.168.0.0/16", "a private address"},
    {"100.64.0.0/10", "a shared (CGNAT) address"},
    {"169.254.0.0/16", "a link-local address"},
    {"192.0.0.0/24", "an IETF protocol assignment address"},
    {"198.18.0.0/15", "a benchmarking address"},
    {"224.0.0.0/4", "a multicast address"},
    {"255.255.255.255/32", "the broadcast address"},
    {"240.0.0.0/4", "a reserved address"},
    {"::/128", "the unspecified address"},
    {"::1/128", "a loopback address"},
    {"fc00::/7", "a unique-local address"},
    {"fe80::/10", "a link-local address"},
    // Deprecated (RFC 3879) but still routed inside some networks.
    {"fec0::/10", "a site-local address"},
    {"ff00::/8", "a multicast address"},
};

Address mapped_ipv4(std::uint32_t host_order) {
  Address address{};
  address[10] = 0xff;
  address[11] = 0xff;
  for (int i = 0; i < 4; ++i) {
    address[static_cast<std::size_t>(12 + i)] = static_cast<std::uint8_t>(host_order >> (24 - 8 * i));
  }
  return address;
}

Address mapped_ipv4(const in_addr& network_order) { return mapped_ipv4(ntohl(network_order.s_addr)); }

Address to_address(const in6_addr& in6) {
  Address address{};
  std::memcpy(address.data(), in6.s6_addr, address.size());
  return address;
}

// The first 96 bits of IPv6 forms that carry an IPv4 address in the last 32.
using Prefix96 = std::array<std::uint8_t, 12>;
constexpr Prefix96 kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
constexpr Prefix96 kCompatiblePrefix = {};
constexpr Prefix96 kNat64Prefix = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

bool has_prefix(const Address& address, const Prefix96& prefix) {
  return std::equal(prefix.begin(), prefix.end(), address.begin());
}

bool is_mapped_ipv4(const Address& address) { return has_prefix(address, kMappedPrefix); }

std::uint32_t low_32_bits(const Address& address) {
  std::uint32_t value = 0;
  for (std::size_t i = 12; i < 16; ++i) value = (value << 8) | address[i];
  return value;
}

// The IPv4 address a non-mapped IPv6 address leads to, if any: IPv4-compatible
// (::a.b.c.d, except :: and ::1 which are IPv6's own) and NAT64 (64:ff9b::/96).
std::optional<Address> embedded_ipv4(const Address& address) {
  const bool compatible = has_prefix(address, kCompatiblePrefix) && low_32_bits(address) > 1;
  if (compatible || has_prefix(address, kNat64Prefix)) return mapped_ipv4(low_32_bits(address));
  return std::nullopt;
}

std::string format_address(const Address& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_mapped_ipv4(address)) {
    in_addr in4{};
    std::memcpy(&in4.s_addr, address.data() + 12, 4);
    inet_ntop(AF_INET, &in4, text, sizeof text);
  } else {
    in6_addr in6{};
    std::memcpy(in6.s6_addr, address.data(), address.size());
    inet_ntop(AF_INET6, &in6, text, sizeof text);
  }
  return text;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

std::optional<Address> parse_ipv6(std::string_view text) {
  in6_addr in6{};
  if (inet_pton(AF_INET6, std::string(text).c_str(), &in6) != 1) return std::nullopt;
  return to_address(in6);
}

// Strict dotted quad: CIDRs in configuration are written canonically.
std::optional<Address> parse_dotted_quad(std::string_view text) {
  in_addr in4{};
  if (inet_pton(AF_INET, std::string(text).c_str(), &in4) != 1) return std::nullopt;
  return mapped_ipv4(in4);
}

std::optional<int> parse_prefix_length(std::string_view text, int max) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

Cidr masked(Cidr cidr) {
  for (std::size_t i = 0; i < cidr.address.size(); ++i) {
    const int bits_here = std::clamp(cidr.prefix_length - static_cast<int>(i) * 8, 0, 8);
    cidr.address[i] &= static_cast<std::uint8_t>(0xff00 >> bits_here);
  }
  return cidr;
}

Error bad_cidr(std::string_view entry, std::string_view why) {
  return make_error(ErrorCode::bad_request, "invalid CIDR \"" + std::string(entry) + "\": " + std::string(why));
}

Result<Cidr> parse_cidr(std::string_view entry) {
  const auto slash = entry.find('/');
  const std::string_view address_text = entry.substr(0, slash);
  const bool is_v6 = address_text.find(':') != std::string_view::npos;
  const auto address = is_v6 ? parse_ipv6(address_text) : parse_dotted_quad(address_text);
  if (!address) return bad_cidr(entry, is_v6 ? "not an IPv6 address" : "not a dotted-quad IPv4 address");

  const int max_bits = is_v6 ? 128 : 32;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    const auto parsed = parse_prefix_length(entry.substr(slash + 1), max_bits);
    if (!parsed) return bad_cidr(entry, "prefix length must be a number from 0 to " + std::to_string(max_bits));
    bits = *parsed;
  }
  const Cidr cidr{*address, is_v6 ? bits : kIpv4PrefixOffset + bits};
  // Host bits set usually means a typo; refusing beats silently widening or
  // narrowing what an operator meant to allow.
  const Cidr network = masked(cidr);
  if (network.address != cidr.address)
    return bad_cidr(entry, "host bits are set; did you mean " + network.to_string() + "?");
  return cidr;
}

const std::vector<Cidr>& refused_blocks() {
  static const std::vector<Cidr> blocks = [] {
    std::vector<Cidr> parsed;
    for (const auto& block : kRefusedBlocks) {
      auto cidr = parse_cidr(block.cidr);
      assert(cidr.ok());
      parsed.push_back(*cidr);
    }
    return parsed;
  }();
  return blocks;
}

// What a refused block says about `address`, or nullptr.
const char* refused_as(const Address& address) {
  const auto& blocks = refused_blocks();
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (blocks[i].contains(address)) return kRefusedBlocks[i].what;
  }
  return nullptr;
}

// One number of an inet_aton address: decimal, 0-prefixed octal or
// 0x-prefixed hex, up to 32 bits. Consumes what it reads from `text`.
std::optional<std::uint32_t> take_aton_number(std::string_view& text) {
  int base = 10;
  std::size_t at = 0;
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    at = 2;
  } else if (text.size() >= 2 && text[0] == '0' && text[1] != '.') {
    base = 8;
    at = 1;
  }
  const std::size_t digits_start = at;
  std::uint64_t value = 0;
  for (; at < text.size() && text[at] != '.'; ++at) {
    const char c = text[at];
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    if (digit >= base) return std::nullopt;
    value = value * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(digit);
    if (value > 0xffffffffu) return std::nullopt;
  }
  if (at == digits_start) return std::nullopt;  // "" or "0x"
  text.remove_prefix(at);
  return static_cast<std::uint32_t>(value);
}

// inet_aton's grammar (a, a.b, a.b.c, a.b.c.d; the last part fills the
// remaining bytes), because that is what resolvers and curl accept, so that
// is what an attacker can write. Stricter than glibc in one way: no trailing
// whitespace.
std::optional<std::uint32_t> parse_inet_aton(std::string_view text) {
  std::array<std::uint32_t, 4> parts{};
  std::size_t count = 0;
  for (;;) {
    if (count == parts.size()) return std::nullopt;
    const auto part = take_aton_number(text);
    if (!part) return std::nullopt;
    parts[count++] = *part;
    if (text.empty()) break;
    text.remove_prefix(1);  // the '.' that stopped the number
  }
  std::uint32_t value = 0;
  for (std::size_t i = 0; i + 1 < count; ++i) {
    if (parts[i] > 0xff) return std::nullopt;
    value |= parts[i] << (24 - 8 * i);
  }
  const std::uint32_t last = parts[count - 1];
  if (count > 1 && last > (0xffffffffu >> (8 * (count - 1)))) return std::nullopt;
  return value | last;
}

std::string_view without_brackets(std::string_view host) {
  if (host.size() >= 2 && host.starts_with('[') && host.ends_with(']')) return host.substr(1, host.size() - 2);
  return host;
}

// The IPv6 literal of a host, bracketed or not, ignoring a zone ("fe80::1%25eth0").
std::optional<Address> parse_ipv6_host(std::string_view host) {
  if (host.starts_with('[') && !host.ends_with(']')) return std::nullopt;
  const std::string_view inner = without_brackets(host);
  return parse_ipv6(inner.substr(0, inner.find('%')));
}

}  // namespace

bool Cidr::contains(const Address& candidate) const {
  const int full_bytes = prefix_length / 8;
  if (!std::equal(address.begin(), address.begin() + full_bytes, candidate.begin())) return false;
  const int rest = prefix_length % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff00 >> rest);
  const auto index = static_cast<std::size_t>(full_bytes);
  return (address[index] & mask) == (candidate[index] & mask);
}

std::string Cidr::to_string() const {
  const bool v4 = is_mapped_ipv4(address) && prefix_length >= kIpv4PrefixOffset;
  return format_address(address) + "/" + std::to_string(v4 ? prefix_length - kIpv4PrefixOffset : prefix_length);
}

Result<TargetPolicy> TargetPolicy::parse(std::string_view comma_separated_cidrs) {
  TargetPolicy policy;
  while (!comma_separated_cidrs.empty()) {
    const auto comma = comma_separated_cidrs.find(',');
    const std::string_view entry = trim(comma_separated_cidrs.substr(0, comma));
    comma_separated_cidrs.remove_prefix(comma == std::string_view::npos ? comma_separated_cidrs.size() : comma + 1);
    if (entry.empty()) continue;
    auto cidr = parse_cidr(entry);
    if (!cidr) return cidr.error();
    policy.allowed_.push_back(*cidr);
  }
  return policy;
}

bool TargetPolicy::is_allowed(const Address& address) const {
  return std::any_of(allowed_.begin(), allowed_.end(), [&](const Cidr& cidr) { return cidr.contains(address); });
}

std::optional<std::string> TargetPolicy::judge(const Address& address, const std::string& shown) const {
  const auto embedded = embedded_ipv4(address);
  if (is_allowed(address) || (embedded && is_allowed(*embedded))) return std::nullopt;
  if (const char* what = refused_as(address)) return shown + " is " + what;
  if (!embedded) return std::nullopt;
  if (const char* what = refused_as(*embedded))
    return shown + " embeds IPv4 " + format_address(*embedded) + ", " + what;
  return std::nullopt;
}

std::optional<std::string> TargetPolicy::refusal_reason(const sockaddr* address) const {
  if (address == nullptr) return "no address";
  // Copied out rather than cast: the caller's sockaddr need not be aligned
  // for the wider structs.
  if (address->sa_family == AF_INET) {
    sockaddr_in in4{};
    std::memcpy(&in4, address, sizeof in4);
    const Address mapped = mapped_ipv4(in4.sin_addr);
    return judge(mapped, format_address(mapped));
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, address, sizeof in6);
    const Address raw = to_address(in6.sin6_addr);
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    return judge(raw, text);
  }
  return "address family " + std::to_string(address->sa_family) + " is not IPv4 or IPv6";
}

std::optional<std::string> TargetPolicy::refusal_reason_for_literal_host(std::string_view host) const {
  std::optional<Address> address;
  if (host.starts_with('[') || host.find(':') != std::string_view::npos) {
    address = parse_ipv6_host(host);
  } else if (const auto v4 = parse_inet_aton(host)) {
    address = mapped_ipv4(*v4);
  }
  if (!address) return std::nullopt;
  // Show the canonical form too: "0x7f.1" alone hides that it means 127.0.0.1.
  const std::string canonical = format_address(*address);
  const bool plain = canonical == without_brackets(host);
  const std::string shown = plain ? canonical : std::string(host) + " (" + canonical + ")";
  return judge(*address, shown);
}

}  // namespace ferry
