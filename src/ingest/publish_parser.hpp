#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace ferry {

// One message as a producer sent it, before it is stored.
struct ParsedMessage {
  std::string type;
  std::string data;  // the raw JSON bytes of "data", verbatim
  std::optional<std::string> id;
  std::optional<std::string> idempotency_key;
  bool test = false;               // "test": true marks a test event
  std::vector<std::string> flags;  // set from its event type (prepare_message)
};

inline constexpr std::size_t kMaxBatchSize = 1000;
inline constexpr std::size_t kMaxMessageIdLength = 128;

// Parses `{"type","data","id"?}`. Malformed JSON is bad_request; a missing
// or ill-typed field is unprocessable, naming the field. The whole document
// is validated, so "data" is known to be well-formed JSON.
// Safe for concurrent use (parsers are per thread).
Result<ParsedMessage> parse_publish_body(std::string_view body);

// Parses `{"messages":[{"type","data","id"?,"idempotency_key"?},…]}`; errors
// name the failing item's index.
Result<std::vector<ParsedMessage>> parse_batch_body(std::string_view body);

}  // namespace ferry
