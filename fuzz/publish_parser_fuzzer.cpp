// Fuzzes the publish parser (src/ingest/publish_parser.*): every input is
// given to parse_publish_body (POST …/messages) and to parse_batch_body
// (POST …/messages/batch).
//
// Invariants:
// - neither throws nor crashes; errors are bad_request or unprocessable;
// - a parsed message keeps the promises of the header: a valid event type
//   name, "data" as well-formed JSON (no trailing whitespace), an id of 1 to
//   128 characters, an idempotency key (batch only) of 1 to 256;
// - round trip: a body written back from the parsed fields parses to the
//   same fields, with "data" byte for byte;
// - a single message agrees with nlohmann's reading of the same document.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/event_type_name.hpp"
#include "fuzz_check.hpp"
#include "ingest/publish_parser.hpp"

namespace {

using ferry::ErrorCode;
using ferry::ParsedMessage;

std::string quoted(const std::string& text) {
  // The parser hands out strings simdjson validated as UTF-8; strict dumping
  // would throw (and so crash the target) if one were not.
  return nlohmann::json(text).dump();
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void check_message(const ParsedMessage& message, bool batch) {
  FUZZ_CHECK(ferry::is_valid_event_type_name(message.type));
  FUZZ_CHECK(!message.data.empty());
  FUZZ_CHECK(!is_json_space(message.data.front()) && !is_json_space(message.data.back()));
  FUZZ_CHECK(nlohmann::json::accept(message.data));
  if (message.id) FUZZ_CHECK(!message.id->empty() && message.id->size() <= ferry::kMaxMessageIdLength);
  if (message.idempotency_key) {
    FUZZ_CHECK(batch);
    FUZZ_CHECK(!message.idempotency_key->empty() && message.idempotency_key->size() <= 256);
  }
  FUZZ_CHECK(message.flags.empty());  // set later, by prepare_message
}

std::string object_of(const ParsedMessage& message) {
  std::string body = "{\"type\":" + quoted(message.type) + ",\"data\":" + message.data;
  if (message.id) body += ",\"id\":" + quoted(*message.id);
  if (message.idempotency_key) body += ",\"idempotency_key\":" + quoted(*message.idempotency_key);
  body += message.test ? ",\"test\":true}" : ",\"test\":false}";
  return body;
}

void check_same(const ParsedMessage& a, const ParsedMessage& b) {
  FUZZ_CHECK(a.type == b.type);
  FUZZ_CHECK(a.data == b.data);
  FUZZ_CHECK(a.id == b.id);
  FUZZ_CHECK(a.idempotency_key == b.idempotency_key);
  FUZZ_CHECK(a.test == b.test);
}

void check_error(const ferry::Error& error) {
  FUZZ_CHECK(error.code == ErrorCode::bad_request || error.code == ErrorCode::unprocessable);
  FUZZ_CHECK(!error.message.empty());
}

// What nlohmann reads from the same document: the parser's fields must match.
// (Both take the last of duplicate keys.)
void check_against_nlohmann(std::string_view body, const ParsedMessage& message) {
  const auto document = nlohmann::json::parse(body, nullptr, false);
  // simdjson and nlohmann differ on a few edge cases of numbers (range of
  // doubles); where nlohmann refuses the document there is nothing to compare.
  if (document.is_discarded()) return;
  FUZZ_CHECK(document.is_object());
  FUZZ_CHECK(document.contains("type") && document["type"].is_string());
  FUZZ_CHECK(document["type"].get<std::string>() == message.type);
  if (message.id) FUZZ_CHECK(document.contains("id") && document["id"] == *message.id);
  if (document.contains("test")) FUZZ_CHECK(document["test"] == message.test);
  const auto data = nlohmann::json::parse(message.data, nullptr, false);
  if (!data.is_discarded()) FUZZ_CHECK(document.contains("data") && document["data"] == data);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  auto single = ferry::parse_publish_body(body);
  if (single) {
    check_message(*single, false);
    check_against_nlohmann(body, *single);
    auto again = ferry::parse_publish_body(object_of(*single));
    FUZZ_CHECK(again.ok());
    check_same(*single, *again);
  } else {
    check_error(single.error());
  }

  auto batch = ferry::parse_batch_body(body);
  if (batch) {
    FUZZ_CHECK(!batch->empty() && batch->size() <= ferry::kMaxBatchSize);
    std::string rebuilt = "{\"messages\":[";
    for (std::size_t i = 0; i < batch->size(); ++i) {
      check_message((*batch)[i], true);
      if (i > 0) rebuilt += ',';
      rebuilt += object_of((*batch)[i]);
    }
    rebuilt += "]}";
    auto again = ferry::parse_batch_body(rebuilt);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->size() == batch->size());
    for (std::size_t i = 0; i < batch->size(); ++i) check_same((*batch)[i], (*again)[i]);
  } else {
    check_error(batch.error());
  }
  return 0;
}
