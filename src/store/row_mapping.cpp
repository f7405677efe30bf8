#include "store/row_mapping.hpp"

#include <nlohmann/json.hpp>

namespace ferry {

namespace {

using nlohmann::json;

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// Parses without exceptions; anything but an array comes back as an empty one.
json parse_array(std::string_view text) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return value.is_array() ? value : json::array();
}

}  // namespace

std::string encode_strings(std::span<const std::string> values) {
  json array = json::array();
  for (const auto& value : values) array.push_back(value);
  return dump(array);
}

std::vector<std::string> decode_strings(std::string_view text) {
  std::vector<std::string> values;
  for (const auto& item : parse_array(text)) {
    if (item.is_string()) values.push_back(item.get_ref<const std::string&>());
  }
  return values;
}

std::string encode_headers(const HeaderList& headers) {
  json pairs = json::array();
  for (const auto& [name, value] : headers) pairs.push_back(json::array({name, value}));
  return dump(pairs);
}

HeaderList decode_headers(std::string_view text) {
  HeaderList headers;
  for (const auto& pair : parse_array(text)) {
    if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_string()) {
      headers.emplace_back(pair[0].get_ref<const std::string&>(), pair[1].get_ref<const std::string&>());
    }
  }
  return headers;
}

}  // namespace ferry
