#include "delivery/target_policy.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <string>
#include <vector>

namespace ferry {
namespace {

// A sockaddr for an address written as text, as curl would hand it over.
sockaddr_storage socket_address(const std::string& text) {
  sockaddr_storage storage{};
  if (text.find(':') != std::string::npos) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(443);
    EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &in6.sin6_addr), 1) << text;
    std::memcpy(&storage, &in6, sizeof in6);
  } else {
    sockaddr_in in4{};
    in4.sin_family = AF_INET;
    in4.sin_port = htons(443);
    EXPECT_EQ(inet_pton(AF_INET, text.c_str(), &in4.sin_addr), 1) << text;
    std::memcpy(&storage, &in4, sizeof in4);
  }
  return storage;
}

std::optional<std::string> refusal(const TargetPolicy& policy, const std::string& address) {
  const sockaddr_storage storage = socket_address(address);
  return policy.refusal_reason(reinterpret_cast<const sockaddr*>(&storage));
}

TargetPolicy allowing(std::string_view cidrs) {
  auto policy = TargetPolicy::parse(cidrs);
  EXPECT_TRUE(policy.ok()) << cidrs << ": " << (policy.ok() ? "" : policy.error().message);
  return policy.ok() ? *policy : TargetPolicy{};
}

struct RefusedCase {
  std::string address;
  std::string reason;  // the exact refusal reason
};

// Every default block, at its edges where that is telling.
const std::vector<RefusedCase> kRefusedAddresses = {
    {"0.0.0.0", "0.0.0.0 is a \"this network\" address"},
    {"0.255.255.255", "0.255.255.255 is a \"this network\" address"},
    {"127.0.0.1", "127.0.0.1 is a loopback address"},
    {"127.255.255.254", "127.255.255.254 is a loopback address"},
    {"10.0.0.1", "10.0.0.1 is a private address"},
    {"10.255.255.255", "10.255.255.255 is a private address"},
    {"172.16.0.1", "172.16.0.1 is a private address"},
    {"172.31.255.255", "172.31.255.255 is a private address"},
    {"192.168.0.1", "192.168.0.1 is a private address"},
    {"192.168.255.255", "192.168.255.255 is a private address"},
    {"100.64.0.1", "100.64.0.1 is a shared (CGNAT) address"},
    {"100.127.255.255", "100.127.255.255 is a shared (CGNAT) address"},
    {"169.254.169.254", "169.254.169.254 is a link-local address"},
    {"169.254.0.1", "169.254.0.1 is a link-local address"},
    {"192.0.0.8", "192.0.0.8 is an IETF protocol assignment address"},
    {"198.18.0.1", "198.18.0.1 is a benchmarking address"},
    {"198.19.255.255", "198.19.255.255 is a benchmarking address"},
    {"224.0.0.1", "224.0.0.1 is a multicast address"},
    {"239.255.255.250", "239.255.255.250 is a multicast address"},
    {"240.0.0.1", "240.0.0.1 is a reserved address"},
    {"255.255.255.254", "255.255.255.254 is a reserved address"},
    {"255.255.255.255", "255.255.255.255 is the broadcast address"},
    {"::", ":: is the unspecified address"},
    {"::1", "::1 is a loopback address"},
    {"fc00::1", "fc00::1 is a unique-local address"},
    {"fd12:3456:789a::1", "fd12:3456:789a::1 is a unique-local address"},
    {"fe80::1", "fe80::1 is a link-local address"},
    {"febf:ffff::1", "febf:ffff::1 is a link-local address"},
    {"fec0::1", "fec0::1 is a site-local address"},
    {"ff02::1", "ff02::1 is a multicast address"},
    {"ff0e::1", "ff0e::1 is a multicast address"},
    // IPv4-mapped: the kernel connects to the IPv4 address itself.
    {"::ffff:127.0.0.1", "::ffff:127.0.0.1 is a loopback address"},
    {"::ffff:10.1.2.3", "::ffff:10.1.2.3 is a private address"},
    {"::ffff:169.254.169.254", "::ffff:169.254.169.254 is a link-local address"},
    {"::ffff:0.0.0.0", "::ffff:0.0.0.0 is a \"this network\" address"},
    // IPv4-compatible and NAT64: judged by the IPv4 address inside.
    {"::127.0.0.1", "::127.0.0.1 embeds IPv4 127.0.0.1, a loopback address"},
    {"::192.168.1.1", "::192.168.1.1 embeds IPv4 192.168.1.1, a private address"},
    {"64:ff9b::7f00:1", "64:ff9b::7f00:1 embeds IPv4 127.0.0.1, a loopback address"},
    {"64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe embeds IPv4 169.254.169.254, a link-local address"},
    {"64:ff9b::a00:1", "64:ff9b::a00:1 embeds IPv4 10.0.0.1, a private address"},
};

const std::vector<std::string> kPublicAddresses = {
    "93.184.216.34", "1.1.1.1", "8.8.8.8", "1.0.0.0", "223.255.255.255",
    // Just outside the refused blocks.
    "9.255.255.255", "11.0.0.0", "126.255.255.255", "128.0.0.0", "172.15.255.255", "172.32.0.0",
    "192.167.255.255", "192.169.0.0", "100.63.255.255", "100.128.0.0", "169.253.255.255", "169.255.0.0",
    "192.0.1.1", "198.17.255.255", "198.20.0.0",
    // IPv6 public, and IPv6 forms that embed a public IPv4 address.
    "2606:2800::1", "2001:4860:4860::8888", "fbff:ffff::1", "::ffff:93.184.216.34", "::8.8.8.8",
    "64:ff9b::5db8:d822",
};

TEST(TargetPolicyTest, RefusesEveryDefaultBlockWithAReason) {
  const TargetPolicy policy;
  for (const auto& [address, reason] : kRefusedAddresses) {
    EXPECT_EQ(refusal(policy, address), reason) << address;
  }
}

TEST(TargetPolicyTest, AllowsPublicAddresses) {
  const TargetPolicy policy;
  for (const auto& address : kPublicAddresses) {
    EXPECT_EQ(refusal(policy, address), std::nullopt) << address;
  }
}

TEST(TargetPolicyTest, RefusesOtherAddressFamilies) {
  sockaddr_un unix_address{};
  unix_address.sun_family = AF_UNIX;
  const auto reason = TargetPolicy{}.refusal_reason(reinterpret_cast<const sockaddr*>(&unix_address));
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("not IPv4 or IPv6"), std::string::npos) << *reason;
  EXPECT_TRUE(TargetPolicy{}.refusal_reason(nullptr).has_value());
}

struct AllowCase {
  std::string allow_list;
  std::vector<std::string> allowed;
  std::vector<std::string> still_refused;
};

TEST(TargetPolicyTest, AllowListReopensOnlyItsBlocks) {
  const std::vector<AllowCase> cases = {
      // IPv4 loopback, however it is reached; IPv6 loopback is separate.
      {"127.0.0.0/8", {"127.0.0.1", "127.1.2.3", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "::127.0.0.1"},
       {"::1", "10.0.0.1", "169.254.169.254"}},
      {"::1/128, 10.0.0.0/8", {"::1", "10.1.2.3", "::ffff:10.0.0.1"}, {"127.0.0.1", "192.168.0.1"}},
      // A bare address is one host.
      {"169.254.169.254", {"169.254.169.254"}, {"169.254.169.253", "169.254.0.1"}},
      {"fd00::/8", {"fd00::2", "fdff::1"}, {"fc00::1", "fe80::1"}},
      {"0.0.0.0/0", {"127.0.0.1", "10.0.0.1", "255.255.255.255", "::ffff:192.168.0.1"}, {"::1", "fe80::1"}},
      // ::/0 covers the mapped IPv4 block too.
      {"::/0", {"::1", "fe80::1", "127.0.0.1"}, {}},
      // Blank entries and spaces are tolerated.
      {" 192.168.0.0/16 , , 172.16.0.0/12,", {"192.168.4.4", "172.20.0.1"}, {"10.0.0.1"}},
      {"", {"93.184.216.34"}, {"127.0.0.1", "::1"}},
  };
  for (const auto& test : cases) {
    const TargetPolicy policy = allowing(test.allow_list);
    for (const auto& address : test.allowed) {
      EXPECT_EQ(refusal(policy, address), std::nullopt) << test.allow_list << " should allow " << address;
    }
    for (const auto& address : test.still_refused) {
      EXPECT_TRUE(refusal(policy, address).has_value()) << test.allow_list << " should refuse " << address;
    }
  }
}

TEST(TargetPolicyTest, ParsedBlocksPrintCanonically) {
  const TargetPolicy policy = allowing("10.0.0.0/8, fc00::/7, 127.0.0.1, ::1, ::ffff:0:0/96");
  std::vector<std::string> printed;
  for (const auto& cidr : policy.allowed()) printed.push_back(cidr.to_string());
  EXPECT_EQ(printed, (std::vector<std::string>{"10.0.0.0/8", "fc00::/7", "127.0.0.1/32", "::1/128", "0.0.0.0/0"}));
}

TEST(TargetPolicyTest, RejectsBadCidrsClearly) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not-an-ip", "not a dotted-quad IPv4 address"},
      {"10.0.0.0/33", "prefix length must be a number from 0 to 32"},
      {"::1/129", "prefix length must be a number from 0 to 128"},
      {"10.0.0.0/", "prefix length"},
      {"10.0.0.0/-1", "prefix length"},
      {"10.0.0.0/0x8", "prefix length"},
      {"10.0.0.0/8/8", "prefix length"},
      {"10.0.0.1/8", "host bits are set; did you mean 10.0.0.0/8?"},
      {"fe80::1/10", "host bits are set; did you mean fe80::/10?"},
      {"0177.0.0.1/32", "not a dotted-quad IPv4 address"},  // configuration is written canonically
      {"1.2.3/24", "not a dotted-quad IPv4 address"},
      {"256.0.0.0/8", "not a dotted-quad IPv4 address"},
      {"fe80::1%eth0/128", "not an IPv6 address"},
      {"10.0.0.0 /8", "not a dotted-quad IPv4 address"},
      {"gggg::/16", "not an IPv6 address"},
  };
  for (const auto& [input, message] : cases) {
    const auto policy = TargetPolicy::parse("127.0.0.0/8," + input);
    ASSERT_FALSE(policy.ok()) << input;
    EXPECT_EQ(policy.error().code, ErrorCode::bad_request) << input;
    EXPECT_NE(policy.error().message.find("\"" + input + "\""), std::string::npos) << policy.error().message;
    EXPECT_NE(policy.error().message.find(message), std::string::npos) << policy.error().message;
  }
}

struct LiteralCase {
  std::string host;
  std::optional<std::string> reason;
};

TEST(TargetPolicyTest, JudgesIpLiteralHostsInEverySpelling) {
  const std::vector<LiteralCase> cases = {
      {"127.0.0.1", "127.0.0.1 is a loopback address"},
      {"2130706433", "2130706433 (127.0.0.1) is a loopback address"},
      {"0177.0.0.1", "0177.0.0.1 (127.0.0.1) is a loopback address"},
      {"0x7f.1", "0x7f.1 (127.0.0.1) is a loopback address"},
      {"0X7F.0.0.1", "0X7F.0.0.1 (127.0.0.1) is a loopback address"},
      {"0x7f000001", "0x7f000001 (127.0.0.1) is a loopback address"},
      {"017700000001", "017700000001 (127.0.0.1) is a loopback address"},
      {"127.1", "127.1 (127.0.0.1) is a loopback address"},
      {"127.0.1", "127.0.1 (127.0.0.1) is a loopback address"},
      {"0", "0 (0.0.0.0) is a \"this network\" address"},
      {"10.1", "10.1 (10.0.0.1) is a private address"},
      {"192.168.257", "192.168.257 (192.168.1.1) is a private address"},
      {"0xa9fea9fe", "0xa9fea9fe (169.254.169.254) is a link-local address"},
      {"169.254.169.254", "169.254.169.254 is a link-local address"},
      {"[::1]", "::1 is a loopback address"},
      {"::1", "::1 is a loopback address"},
      {"[0:0:0:0:0:0:0:1]", "[0:0:0:0:0:0:0:1] (::1) is a loopback address"},
      {"[::ffff:127.0.0.1]", "[::ffff:127.0.0.1] (127.0.0.1) is a loopback address"},
      {"[::ffff:7f00:1]", "[::ffff:7f00:1] (127.0.0.1) is a loopback address"},
      {"[fe80::1%25eth0]", "[fe80::1%25eth0] (fe80::1) is a link-local address"},
      {"[fd00::1]", "fd00::1 is a unique-local address"},
      {"[64:ff9b::7f00:1]", "64:ff9b::7f00:1 embeds IPv4 127.0.0.1, a loopback address"},
      // Public literals.
      {"93.184.216.34", std::nullopt},
      {"1572395042", std::nullopt},  // 93.184.216.34
      {"[2606:2800::1]", std::nullopt},
      // Names, and things inet_aton would not take: judged at connect time.
      {"example.com", std::nullopt},
      {"localhost", std::nullopt},
      {"127.0.0.1.nip.io", std::nullopt},
      {"127.0.0.1.", std::nullopt},
      {"1.2.3.4.5", std::nullopt},
      {"256.0.0.1", std::nullopt},
      {"08.0.0.1", std::nullopt},
      {"0x", std::nullopt},
      {"4294967296", std::nullopt},
      {"127.0.0.1 ", std::nullopt},
      {"[::1", std::nullopt},
      {"[not-v6]", std::nullopt},
      {"", std::nullopt},
  };
  const TargetPolicy policy;
  for (const auto& test : cases) {
    EXPECT_EQ(policy.refusal_reason_for_literal_host(test.host), test.reason) << test.host;
  }
}

TEST(TargetPolicyTest, LiteralHostsHonourTheAllowList) {
  const TargetPolicy policy = allowing("127.0.0.0/8");
  EXPECT_EQ(policy.refusal_reason_for_literal_host("2130706433"), std::nullopt);
  EXPECT_EQ(policy.refusal_reason_for_literal_host("[::ffff:127.0.0.1]"), std::nullopt);
  EXPECT_TRUE(policy.refusal_reason_for_literal_host("[::1]").has_value());
  EXPECT_TRUE(policy.refusal_reason_for_literal_host("0xa9fea9fe").has_value());
}

}  // namespace
}  // namespace ferry
