// Verifies the signatures of the webhook requests Ferry sends, for receivers
// written in C++. Header-only and C++17, so it can be copied into a receiver
// as it is; it needs OpenSSL's libcrypto (link with -lcrypto) and the
// standard library, nothing of Ferry. docs/receiving.md describes what is
// signed and how; this file follows it.
//
//   #include <ferry/verify.hpp>
//
//   const ferry::verify::Verifier verifier("penguinmails", {secret});
//   if (!verifier.setup()) { /* log verifier.setup().detail and stop */ }
//   const ferry::verify::Result result = verifier.verify(request_headers, raw_body);
//   if (!result) return reply(401, ferry::verify::status_name(result.status));
//
// Nothing here throws, except std::bad_alloc when memory runs out.

#pragma once

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace ferry::verify {

// How a request is signed. Every Ferry wire profile names one of these.
enum class Scheme {
  standard_webhooks,  // webhook-id, webhook-timestamp, webhook-signature: v1,<base64> …
  hmac_sha256_hex,    // <signature_header>: lowercase hex HMAC-SHA256 of the body
  stripe,             // <signature_header>: t=<seconds>,v1=<hex>[,v1=<hex>…]
};

struct Profile {
  Scheme scheme = Scheme::standard_webhooks;
  // The header carrying the signature under hmac_sha256_hex and stripe;
  // standard_webhooks always uses webhook-signature.
  std::string signature_header;

  static Profile standard_webhooks() { return Profile{Scheme::standard_webhooks, {}}; }
  static Profile hmac_sha256_hex(std::string header) { return Profile{Scheme::hmac_sha256_hex, std::move(header)}; }
  static Profile stripe(std::string header) { return Profile{Scheme::stripe, std::move(header)}; }
};

struct BuiltinProfile {
  std::string_view name;
  Scheme scheme;
  std::string_view signature_header;
};

// Ferry's built-in wire profiles (src/core/wire_profile_builtin.cpp), so a
// receiver can say "verify as penguinmails". A unit test compares this table
// with Ferry's own, so the two cannot drift apart. A custom profile is given
// as a Profile instead.
inline constexpr BuiltinProfile kBuiltinProfiles[] = {
    {"standard-webhooks", Scheme::standard_webhooks, ""},
    {"pocketflows", Scheme::standard_webhooks, ""},
    {"heyoo", Scheme::standard_webhooks, ""},
    {"customer-engagement", Scheme::standard_webhooks, ""},
    {"pocketsflow", Scheme::hmac_sha256_hex, "X-Pocketsflow-Signature"},
    {"penguinmails", Scheme::hmac_sha256_hex, "X-PenguinMails-Signature"},
};

inline std::optional<Profile> builtin_profile(std::string_view name) {
  for (const auto& builtin : kBuiltinProfiles) {
    if (builtin.name == name) return Profile{builtin.scheme, std::string(builtin.signature_header)};
  }
  return std::nullopt;
}

enum class Status {
  ok,
  unknown_profile,        // the profile name is not one of kBuiltinProfiles
  bad_secret,             // no secret, or one the scheme cannot use (every verify() fails until fixed)
  missing_header,         // a header the scheme needs is absent or empty
  bad_timestamp,          // the timestamp is not a whole number of Unix seconds
  timestamp_too_old,      // further in the past than the tolerance: possibly a replay
  timestamp_too_new,      // further in the future than the tolerance: clocks apart, or forged
  no_matching_signature,  // the request was altered, or signed with a secret not given
};

inline std::string_view status_name(Status status) {
  switch (status) {
    case Status::ok: return "ok";
    case Status::unknown_profile: return "unknown_profile";
    case Status::bad_secret: return "bad_secret";
    case Status::missing_header: return "missing_header";
    case Status::bad_timestamp: return "bad_timestamp";
    case Status::timestamp_too_old: return "timestamp_too_old";
    case Status::timestamp_too_new: return "timestamp_too_new";
    case Status::no_matching_signature: return "no_matching_signature";
  }
  return "unknown_status";
}

struct Result {
  Status status = Status::ok;
  // For logs: the header concerned or what was wrong with it. Never a secret,
  // since logs are read by more people than secrets should be.
  std::string detail;

  bool ok() const noexcept { return status == Status::ok; }
  explicit operator bool() const noexcept { return ok(); }
};

struct Options {
  // How far the signed timestamp may be from now, either way. Five minutes,
  // as in the Standard Webhooks libraries: wide enough for clock skew and
  // queueing, narrow enough that a captured request cannot be replayed later.
  std::chrono::seconds tolerance = std::chrono::minutes(5);
};

namespace detail {

inline char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
  }
  return true;
}

// HTTP strips the whitespace around a field value; not every server library does.
inline std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

inline bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// The length check may leak, the contents may not: how many leading bytes
// matched is what a timing attack would learn byte by byte.
inline bool constant_time_equals(std::string_view a, std::string_view b) {
  return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

inline constexpr std::string_view kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = bytes.size() - i < 3 ? bytes.size() - i : 3;
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      group = (group << 8) | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0U);
    }
    for (std::size_t j = 0; j < 4; ++j) {
      out.push_back(j <= n ? kBase64Alphabet[(group >> (18 - 6 * j)) & 0x3FU] : '=');
    }
  }
  return out;
}

// Standard base64 with padding; nullopt for anything else, so a mangled
// secret is reported instead of silently becoming another key.
inline std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::uint32_t group = 0;
    std::size_t padding = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      std::uint32_t value = 0;
      if (c == '=' && last && j >= 2) {
        ++padding;
      } else {
        const std::size_t index = kBase64Alphabet.find(c);
        if (index == std::string_view::npos || padding > 0) return std::nullopt;
        value = static_cast<std::uint32_t>(index);
      }
      group = (group << 6) | value;
    }
    for (std::size_t j = 0; j < 3 - padding; ++j) out.push_back(static_cast<char>((group >> (16 - 8 * j)) & 0xFFU));
  }
  return out;
}

inline std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char byte : bytes) {
    const auto value = static_cast<unsigned char>(byte);
    out.push_back(kDigits[value >> 4]);
    out.push_back(kDigits[value & 0x0FU]);
  }
  return out;
}

// Empty when OpenSSL fails; constant_time_equals never matches an empty string.
inline std::string hmac_sha256(std::string_view key, std::string_view data) {
  if (key.size() > static_cast<std::size_t>(INT_MAX)) return {};
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  const unsigned char* done =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), digest.data(), &size);
  if (done == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(digest.data()), size);
}

// Digits only: no sign, no fraction, no exponent, as Ferry writes it.
inline std::optional<std::int64_t> parse_unix_seconds(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  std::int64_t value = 0;
  const auto parsed = std::from_chars(text.data(), text.data() + text.size(), value);
  if (parsed.ec != std::errc() || parsed.ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

inline Result check_tolerance(std::int64_t timestamp, std::int64_t now, std::chrono::seconds tolerance) {
  const std::uint64_t allowed = tolerance.count() > 0 ? static_cast<std::uint64_t>(tolerance.count()) : 0U;
  // Unsigned differences: a forged timestamp near the int64 limits must not overflow.
  if (timestamp < now) {
    if (static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(timestamp) > allowed) {
      return {Status::timestamp_too_old, std::to_string(timestamp) + " is more than the tolerance before now"};
    }
  } else if (static_cast<std::uint64_t>(timestamp) - static_cast<std::uint64_t>(now) > allowed) {
    return {Status::timestamp_too_new, std::to_string(timestamp) + " is more than the tolerance after now"};
  }
  return {};
}

}  // namespace detail

class Verifier {
 public:
  // `secrets` as Ferry shows them ("whsec_…"), usually one; during a rotation
  // the new and the old one, since a request then passes if any matches.
  Verifier(Profile profile, std::vector<std::string> secrets, Options options = {})
      : profile_(std::move(profile)), tolerance_(options.tolerance) {
    load_secrets(secrets);
  }

  // A built-in profile by name ("standard-webhooks", "penguinmails", …).
  Verifier(std::string_view profile_name, std::vector<std::string> secrets, Options options = {})
      : tolerance_(options.tolerance) {
    if (auto builtin = builtin_profile(profile_name)) {
      profile_ = std::move(*builtin);
      load_secrets(secrets);
    } else {
      setup_ = {Status::unknown_profile, "no built-in profile is named \"" + std::string(profile_name) + "\""};
    }
  }

  // ok, or why every verify() will fail (unknown_profile, bad_secret): a
  // constructor cannot return an error, so a receiver checks this at start.
  const Result& setup() const { return setup_; }

  const Profile& profile() const { return profile_; }

  // `headers`: any range of (name, value) pairs, such as
  // std::vector<std::pair<std::string, std::string>> or std::map; names are
  // matched ignoring case, and the first of a repeated header counts. `body`:
  // the raw bytes received, before any JSON parsing, which would change them.
  template <class Headers>
  Result verify(const Headers& headers, std::string_view body, std::int64_t now_unix_seconds) const {
    if (!setup_.ok()) return setup_;
    Signed found;
    for (const auto& header : headers) {
      const std::string_view name(header.first);
      const std::string_view value(header.second);
      if (profile_.scheme == Scheme::standard_webhooks) {
        remember(found.id, name, kWebhookId, value);
        remember(found.timestamp, name, kWebhookTimestamp, value);
        remember(found.signature, name, kWebhookSignature, value);
      } else {
        remember(found.signature, name, profile_.signature_header, value);
      }
    }
    return verify_found(found, body, now_unix_seconds);
  }

  template <class Headers>
  Result verify(const Headers& headers, std::string_view body) const {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return verify(headers, body, std::chrono::duration_cast<std::chrono::seconds>(now).count());
  }

 private:
  static constexpr std::string_view kWebhookId = "webhook-id";
  static constexpr std::string_view kWebhookTimestamp = "webhook-timestamp";
  static constexpr std::string_view kWebhookSignature = "webhook-signature";

  struct Signed {
    std::optional<std::string_view> id;
    std::optional<std::string_view> timestamp;
    std::optional<std::string_view> signature;
  };

  static void remember(std::optional<std::string_view>& slot, std::string_view name, std::string_view wanted,
                       std::string_view value) {
    if (!slot && detail::equals_ignoring_case(name, wanted)) slot = detail::trim(value);
  }

  static Result missing(std::string_view header) {
    return {Status::missing_header, "no " + std::string(header) + " header"};
  }

  void load_secrets(const std::vector<std::string>& secrets) {
    if (secrets.empty()) {
      setup_ = {Status::bad_secret, "no secret given"};
      return;
    }
    for (std::size_t i = 0; i < secrets.size(); ++i) {
      std::string_view secret = secrets[i];
      const std::string which = "secret " + std::to_string(i + 1) + " of " + std::to_string(secrets.size());
      if (profile_.scheme != Scheme::standard_webhooks) {
        // The HMAC key of these schemes is the secret string as shown,
        // "whsec_" included, as GitHub- and Stripe-style receivers use it.
        if (secret.empty()) {
          setup_ = {Status::bad_secret, which + " is empty"};
          return;
        }
        keys_.emplace_back(secret);
        continue;
      }
      // The Standard Webhooks libraries accept the key's base64 with or without the prefix.
      if (detail::starts_with(secret, "whsec_")) secret.remove_prefix(6);
      auto key = detail::base64_decode(secret);
      if (!key || key->empty()) {
        setup_ = {Status::bad_secret, which + " is not \"whsec_\" followed by base64"};
        return;
      }
      keys_.push_back(std::move(*key));
    }
  }

  Result verify_found(const Signed& found, std::string_view body, std::int64_t now) const {
    switch (profile_.scheme) {
      case Scheme::standard_webhooks: return verify_standard_webhooks(found, body, now);
      case Scheme::hmac_sha256_hex: return verify_hmac_sha256_hex(found, body);
      case Scheme::stripe: return verify_stripe(found, body, now);
    }
    return {Status::unknown_profile, "unknown signature scheme"};
  }

  // Every comparison runs even after a match, so the time taken does not say
  // which secret or which entry matched.
  Result verify_standard_webhooks(const Signed& found, std::string_view body, std::int64_t now) const {
    if (!found.id || found.id->empty()) return missing(kWebhookId);
    if (!found.timestamp || found.timestamp->empty()) return missing(kWebhookTimestamp);
    if (!found.signature || found.signature->empty()) return missing(kWebhookSignature);
    const auto timestamp = detail::parse_unix_seconds(*found.timestamp);
    if (!timestamp) return {Status::bad_timestamp, "webhook-timestamp is not a whole number of Unix seconds"};
    if (auto fresh = detail::check_tolerance(*timestamp, now, tolerance_); !fresh) return fresh;

    // The number as parsed, not as sent, as the Standard Webhooks libraries sign it.
    std::string content(*found.id);
    content.append(".").append(std::to_string(*timestamp)).append(".").append(body);
    std::vector<std::string> expected;
    for (const auto& key : keys_) expected.push_back(detail::base64_encode(detail::hmac_sha256(key, content)));

    bool matched = false;
    std::string_view entries = *found.signature;
    while (!entries.empty()) {
      const std::size_t space = entries.find(' ');
      const std::string_view entry = entries.substr(0, space);
      // Other versions (v1a: asymmetric signatures) are not Ferry's and are skipped.
      if (detail::starts_with(entry, "v1,")) {
        for (const auto& signature : expected)
          matched = detail::constant_time_equals(entry.substr(3), signature) || matched;
      }
      if (space == std::string_view::npos) break;
      entries.remove_prefix(space + 1);
    }
    if (!matched) return {Status::no_matching_signature, "no v1 signature of webhook-signature matches a secret"};
    return {};
  }

  Result verify_hmac_sha256_hex(const Signed& found, std::string_view body) const {
    if (!found.signature || found.signature->empty()) return missing(profile_.signature_header);
    std::string given(*found.signature);
    for (auto& c : given) c = detail::lower_ascii(c);
    bool matched = false;
    for (const auto& key : keys_) {
      matched = detail::constant_time_equals(given, detail::to_hex(detail::hmac_sha256(key, body))) || matched;
    }
    if (!matched) return {Status::no_matching_signature, profile_.signature_header + " matches no secret"};
    return {};
  }

  Result verify_stripe(const Signed& found, std::string_view body, std::int64_t now) const {
    if (!found.signature || found.signature->empty()) return missing(profile_.signature_header);
    std::optional<std::string_view> timestamp_text;
    std::vector<std::string> given;
    std::string_view items = *found.signature;
    while (!items.empty()) {
      const std::size_t comma = items.find(',');
      const std::string_view item = detail::trim(items.substr(0, comma));
      if (!timestamp_text && detail::starts_with(item, "t=")) timestamp_text = item.substr(2);
      if (detail::starts_with(item, "v1=")) {
        given.emplace_back(item.substr(3));
        for (auto& c : given.back()) c = detail::lower_ascii(c);
      }
      if (comma == std::string_view::npos) break;
      items.remove_prefix(comma + 1);
    }
    if (!timestamp_text) return {Status::bad_timestamp, profile_.signature_header + " has no t="};
    const auto timestamp = detail::parse_unix_seconds(*timestamp_text);
    if (!timestamp) return {Status::bad_timestamp, "t= is not a whole number of Unix seconds"};
    if (auto fresh = detail::check_tolerance(*timestamp, now, tolerance_); !fresh) return fresh;

    const std::string content = std::to_string(*timestamp) + "." + std::string(body);
    bool matched = false;
    for (const auto& key : keys_) {
      const std::string expected = detail::to_hex(detail::hmac_sha256(key, content));
      for (const auto& signature : given) matched = detail::constant_time_equals(signature, expected) || matched;
    }
    if (!matched)
      return {Status::no_matching_signature, "no v1= of " + profile_.signature_header + " matches a secret"};
    return {};
  }

  Profile profile_;
  std::vector<std::string> keys_;  // the HMAC keys, one per secret, in the order given
  std::chrono::seconds tolerance_;
  Result setup_;
};

}  // namespace ferry::verify
