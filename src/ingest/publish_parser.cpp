#include "ingest/publish_parser.hpp"

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "core/event_type_name.hpp"
#include "core/json_limits.hpp"

namespace ferry {

namespace {

namespace od = simdjson::ondemand;

// Parsers keep their buffers between calls, so one per thread.
simdjson::dom::parser& validating_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}
od::parser& field_parser() {
  thread_local od::parser parser;
  return parser;
}

Error unprocessable(const std::string& where, const std::string& what) {
  return make_error(ErrorCode::unprocessable, where + what);
}

std::string_view trim_trailing_space(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// The raw bytes of any JSON value, trailing whitespace removed.
simdjson::error_code raw_value(od::value value, std::string_view& out) {
  od::json_type type{};
  if (auto error = value.type().get(type)) return error;
  simdjson::error_code error = simdjson::SUCCESS;
  if (type == od::json_type::object) {
    od::object object;
    error = value.get_object().get(object);
    if (!error) error = object.raw_json().get(out);
  } else if (type == od::json_type::array) {
    od::array array;
    error = value.get_array().get(array);
    if (!error) error = array.raw_json().get(out);
  } else {
    out = value.raw_json_token();
  }
  out = trim_trailing_space(out);
  return error;
}

Result<std::string> string_field(od::value value, const std::string& where, const char* name) {
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS)
    return unprocessable(where, std::string(name) + " must be a string");
  return std::string(text);
}

// Reads one message object; `where` prefixes error messages ("" or "messages[3]: ").
Result<ParsedMessage> read_message(od::object object, const std::string& where, bool allow_idempotency_key) {
  ParsedMessage message;
  bool has_type = false;
  bool has_data = false;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS)
      return make_error(ErrorCode::bad_request, "malformed JSON");
    od::value value;
    if (field.value().get(value) != simdjson::SUCCESS) return make_error(ErrorCode::bad_request, "malformed JSON");
    if (key == "type") {
      auto type = string_field(value, where, "\"type\"");
      if (!type) return type.error();
      message.type = std::move(*type);
      has_type = true;
    } else if (key == "data") {
      std::string_view raw;
      if (raw_value(value, raw) != simdjson::SUCCESS) return make_error(ErrorCode::bad_request, "malformed JSON");
      message.data.assign(raw);
      has_data = true;
    } else if (key == "id") {
      auto id = string_field(value, where, "\"id\"");
      if (!id) return id.error();
      message.id = std::move(*id);
    } else if (key == "test") {
      if (value.get_bool().get(message.test) != simdjson::SUCCESS) {
        return unprocessable(where, "\"test\" must be true or false");
      }
    } else if (key == "idempotency_key" && allow_idempotency_key) {
      auto idempotency_key = string_field(value, where, "\"idempotency_key\"");
      if (!idempotency_key) return idempotency_key.error();
      message.idempotency_key = std::move(*idempotency_key);
    }
    // Unknown fields are ignored, so producers can send more than Ferry reads.
  }
  if (!has_type) return unprocessable(where, "\"type\" is required");
  if (!has_data) return unprocessable(where, "\"data\" is required");
  if (!is_valid_event_type_name(message.type)) {
    return unprocessable(where,
                         "\"type\" must be a dotted name of letters, digits, '_' and '-' (at most 128 characters)");
  }
  if (message.id && (message.id->empty() || message.id->size() > kMaxMessageIdLength)) {
    return unprocessable(where, "\"id\" must be 1 to 128 characters");
  }
  if (message.idempotency_key && (message.idempotency_key->empty() || message.idempotency_key->size() > 256)) {
    return unprocessable(where, "\"idempotency_key\" must be 1 to 256 characters");
  }
  return message;
}

// Validates the whole document (ondemand alone only checks what it visits),
// then opens it for field access.
Result<od::object> open_object(const simdjson::padded_string& padded, od::document& document) {
  if (json_deeper_than(std::string_view(padded.data(), padded.size()), kMaxJsonDepth)) {
    return make_error(ErrorCode::unprocessable, json_too_deep_message());
  }
  simdjson::dom::element root;
  if (validating_parser().parse(padded).get(root) != simdjson::SUCCESS) {
    // simdjson refuses integers beyond 64 bits, which JSON allows; the rare
    // document it refuses gets a second opinion from the slower nlohmann parser.
    if (!nlohmann::json::accept(padded.data(), padded.data() + padded.size())) {
      return make_error(ErrorCode::bad_request, "request body is not valid JSON");
    }
  } else if (!root.is_object()) {
    return make_error(ErrorCode::unprocessable, "request body must be a JSON object");
  }
  if (field_parser().iterate(padded).get(document) != simdjson::SUCCESS) {
    return make_error(ErrorCode::bad_request, "request body is not valid JSON");
  }
  od::object object;
  if (document.get_object().get(object) != simdjson::SUCCESS) {
    return make_error(ErrorCode::unprocessable, "request body must be a JSON object");
  }
  return object;
}

}  // namespace

Result<ParsedMessage> parse_publish_body(std::string_view body) {
  const simdjson::padded_string padded(body);
  od::document document;
  auto object = open_object(padded, document);
  if (!object) return object.error();
  return read_message(*object, "", false);
}

Result<std::vector<ParsedMessage>> parse_batch_body(std::string_view body) {
  const simdjson::padded_string padded(body);
  od::document document;
  auto object = open_object(padded, document);
  if (!object) return object.error();
  od::array items;
  bool found = false;
  for (auto field : *object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS)
      return make_error(ErrorCode::bad_request, "malformed JSON");
    if (key != "messages") continue;
    if (field.value().get_array().get(items) != simdjson::SUCCESS) {
      return make_error(ErrorCode::unprocessable, "\"messages\" must be an array");
    }
    found = true;
    break;
  }
  if (!found) return make_error(ErrorCode::unprocessable, "\"messages\" is required");
  std::vector<ParsedMessage> messages;
  std::size_t index = 0;
  for (auto item : items) {
    const std::string where = "messages[" + std::to_string(index) + "]: ";
    if (index >= kMaxBatchSize) {
      return make_error(ErrorCode::unprocessable,
                        "a batch holds at most " + std::to_string(kMaxBatchSize) + " messages");
    }
    od::object message_object;
    if (item.get_object().get(message_object) != simdjson::SUCCESS) return unprocessable(where, "must be an object");
    auto message = read_message(message_object, where, true);
    if (!message) return message.error();
    messages.push_back(std::move(*message));
    ++index;
  }
  if (messages.empty()) return make_error(ErrorCode::unprocessable, "\"messages\" must not be empty");
  return messages;
}

}  // namespace ferry
