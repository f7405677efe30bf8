// Fuzzes signing and verification (src/core/signature.*, src/core/base64.*).
// The input is text, one field per line:
//
//   secret            whsec_<base64>; when it is not a valid secret its raw bytes are the HMAC key
//   message id
//   timestamp         decimal seconds (anything else counts as 0)
//   signature header  a webhook-signature value ("v1,… v1,…"), or a Stripe-Signature one ("t=…,v1=…")
//   body              the rest of the input, newlines included
//
// Invariants:
// - nothing crashes; secret_key gives a key of 24 to 64 bytes, and
//   "whsec_" + base64(key) reads back as the same key; base64 decoding
//   round-trips through encoding;
// - verify_standard_webhooks accepts exactly the headers with an entry equal
//   to standard_webhooks_signature(...): a just-made signature verifies (alone
//   or after the fuzzed header's entries), one with a byte flipped, or for a
//   changed body, does not;
// - the same for the hex (GitHub-style) and Stripe schemes; a parsed Stripe
//   header has a timestamp and at least one v1 entry, and a made one parses
//   back to its timestamp and signatures.

#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base64.hpp"
#include "core/signature.hpp"
#include "fuzz_check.hpp"

namespace {

std::string_view next_line(std::string_view& input) {
  const std::size_t newline = input.find('\n');
  const std::string_view line = input.substr(0, newline);
  input.remove_prefix(newline == std::string_view::npos ? input.size() : newline + 1);
  return line;
}

std::string flipped(std::string text, std::size_t at) {
  if (text.empty()) return "x";
  text[at % text.size()] = static_cast<char>(text[at % text.size()] ^ 0x01);
  return text;
}

// The oracle for verify_standard_webhooks: some space-separated entry equals `expected`.
bool has_entry(std::string_view header, std::string_view expected) {
  while (true) {
    const std::size_t space = header.find(' ');
    if (header.substr(0, space) == expected) return true;
    if (space == std::string_view::npos) return false;
    header.remove_prefix(space + 1);
  }
}

void check_base64(std::string_view text) {
  auto decoded = ferry::base64_decode(text);
  if (!decoded) return;
  FUZZ_CHECK(decoded->size() <= text.size() * 3 / 4);
  const std::string encoded = ferry::base64_encode(*decoded);
  FUZZ_CHECK(encoded.size() == text.size());
  auto again = ferry::base64_decode(encoded);
  FUZZ_CHECK(again && *again == *decoded);
}

void check_standard_webhooks(std::string_view key, std::string_view id, long long timestamp, std::string_view body,
                             std::string_view header) {
  const std::string signature = ferry::standard_webhooks_signature(key, id, timestamp, body);
  FUZZ_CHECK(signature.starts_with("v1,"));
  FUZZ_CHECK(ferry::base64_decode(std::string_view(signature).substr(3)).value_or("").size() == 32);
  FUZZ_CHECK(ferry::verify_standard_webhooks(key, id, timestamp, body, signature));
  FUZZ_CHECK(ferry::verify_standard_webhooks(key, id, timestamp, body, std::string(header) + " " + signature));
  FUZZ_CHECK(ferry::verify_standard_webhooks(key, id, timestamp, body, header) == has_entry(header, signature));
  for (std::size_t at : {std::size_t{0}, std::size_t{3}, body.size(), signature.size() - 1}) {
    FUZZ_CHECK(!ferry::verify_standard_webhooks(key, id, timestamp, body, flipped(signature, at)));
  }
  FUZZ_CHECK(!ferry::verify_standard_webhooks(key, id, timestamp, flipped(std::string(body), id.size()), signature));
  FUZZ_CHECK(!ferry::verify_standard_webhooks(key, id, timestamp ^ 1, body, signature));

  const std::vector<std::string> keys = {std::string(key), "another key of at least 24 bytes"};
  const std::string both = ferry::standard_webhooks_signature_header(keys, id, timestamp, body);
  FUZZ_CHECK(both.starts_with(signature + " "));
  FUZZ_CHECK(ferry::verify_standard_webhooks(key, id, timestamp, body, both));
}

void check_hex_and_stripe(std::string_view key, long long timestamp, std::string_view body, std::string_view header) {
  const std::string hex = ferry::hmac_sha256_hex(key, body);
  FUZZ_CHECK(hex.size() == 64);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  FUZZ_CHECK(ferry::verify_hmac_sha256_hex(key, body, hex));
  FUZZ_CHECK(ferry::verify_hmac_sha256_hex(key, body, upper));
  FUZZ_CHECK(!ferry::verify_hmac_sha256_hex(key, body, flipped(hex, body.size())));
  std::string given(header);
  for (char& c : given) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  FUZZ_CHECK(ferry::verify_hmac_sha256_hex(key, body, header) == (given == hex));

  // A fuzzed Stripe-Signature header.
  if (auto parsed = ferry::parse_stripe_signature_header(header)) {
    FUZZ_CHECK(!parsed->v1.empty());
    const bool verified = ferry::verify_stripe_signature(key, body, header);
    const std::string content = std::to_string(parsed->timestamp_seconds) + "." + std::string(body);
    const std::string expected = ferry::hmac_sha256_hex(key, content);
    bool any = false;
    for (const auto& v1 : parsed->v1) any = any || v1 == expected;
    FUZZ_CHECK(verified == any);
  } else {
    FUZZ_CHECK(!ferry::verify_stripe_signature(key, body, header));
  }

  // A made one.
  const std::vector<std::string> keys = {std::string(key), "an older key"};
  const std::string made = ferry::stripe_signature_header(keys, timestamp, body);
  auto parsed = ferry::parse_stripe_signature_header(made);
  FUZZ_CHECK(parsed.has_value());
  FUZZ_CHECK(parsed->timestamp_seconds == timestamp);
  FUZZ_CHECK(parsed->v1.size() == 2);
  FUZZ_CHECK(parsed->v1[0] == ferry::hmac_sha256_hex(key, std::to_string(timestamp) + "." + std::string(body)));
  FUZZ_CHECK(ferry::verify_stripe_signature(key, body, made));
  FUZZ_CHECK(!ferry::verify_stripe_signature(key, flipped(std::string(body), 7), made));
  const std::string only_first = made.substr(0, made.find(",v1=", made.find(",v1=") + 1));
  FUZZ_CHECK(!ferry::verify_stripe_signature(key, body, flipped(only_first, only_first.size() - 1)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string_view secret = next_line(input);
  const std::string_view id = next_line(input);
  const std::string_view timestamp_text = next_line(input);
  const std::string_view header = next_line(input);
  const std::string_view body = input;

  long long timestamp = 0;
  std::from_chars(timestamp_text.data(), timestamp_text.data() + timestamp_text.size(), timestamp);

  std::string key(secret);
  auto decoded = ferry::secret_key(secret);
  if (decoded) {
    FUZZ_CHECK(decoded->size() >= ferry::kMinSecretBytes && decoded->size() <= ferry::kMaxSecretBytes);
    auto again = ferry::secret_key(std::string(ferry::kSecretPrefix) + ferry::base64_encode(*decoded));
    FUZZ_CHECK(again && *again == *decoded);
    key = std::move(*decoded);
  } else {
    FUZZ_CHECK(decoded.error().code == ferry::ErrorCode::unprocessable);
  }
  if (secret.starts_with(ferry::kSecretPrefix)) check_base64(secret.substr(ferry::kSecretPrefix.size()));
  check_base64(header);

  check_standard_webhooks(key, id, timestamp, body, header);
  check_hex_and_stripe(key, timestamp, body, header);

  FUZZ_CHECK(ferry::constant_time_equals(secret, secret));
  FUZZ_CHECK(ferry::constant_time_equals(id, header) == (id == header));
  return 0;
}
