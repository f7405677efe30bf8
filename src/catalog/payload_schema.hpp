#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/result.hpp"

namespace ferry {

// An event type's JSON Schema (draft 7; drafts 4 and 6 are read too),
// compiled once with valijson and then used to check payloads. Of "format",
// valijson enforces date, time and date-time; the seed catalogs check
// timestamps and ids with "pattern" instead.
// Immutable after compile(), so one instance serves every thread.
class PayloadSchema {
 public:
  // Unprocessable when `schema_json` is not JSON or not a schema valijson
  // can read; the message says why. Patterns are at most 1024 bytes, without
  // back-references, with repetition counts of at most 100,000.
  static Result<std::shared_ptr<const PayloadSchema>> compile_text(std::string_view schema_json);
  static Result<std::shared_ptr<const PayloadSchema>> compile(const nlohmann::json& schema);

  ~PayloadSchema();
  PayloadSchema(const PayloadSchema&) = delete;
  PayloadSchema& operator=(const PayloadSchema&) = delete;

  // Ok, or schema_violation naming the deepest failing place as a JSON
  // Pointer (Error::path, "" for the payload itself) and the reason. Where
  // the schema has "pattern", "patternProperties" or "format", a string or
  // member name longer than 4096 bytes is a violation (std::regex recurses
  // per character; see payload_schema.cpp).
  Status check(const nlohmann::json& payload) const;

 private:
  PayloadSchema();
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace ferry
