#include "store/sqlite_rows.hpp"

namespace ferry {

SqliteParams& SqliteParams::text(std::string_view value) {
  stmt_.bind_text(next_++, value);
  return *this;
}

SqliteParams& SqliteParams::bytes(std::string_view value) {
  stmt_.bind_blob(next_++, value);
  return *this;
}

SqliteParams& SqliteParams::integer(std::int64_t value) {
  stmt_.bind_int(next_++, value);
  return *this;
}

SqliteParams& SqliteParams::boolean(bool value) { return integer(value ? 1 : 0); }

SqliteParams& SqliteParams::optional_text(const std::optional<std::string>& value) {
  stmt_.bind_optional_text(next_++, value);
  return *this;
}

SqliteParams& SqliteParams::optional_integer(std::optional<std::int64_t> value) {
  stmt_.bind_optional_int(next_++, value);
  return *this;
}

SqliteParams& SqliteParams::text_array(std::span<const std::string> values) { return text(encode_strings(values)); }

}  // namespace ferry
