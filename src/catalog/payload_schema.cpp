#include "catalog/payload_schema.hpp"

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <exception>

namespace ferry {

struct PayloadSchema::Compiled {
  valijson::Schema schema;
};

PayloadSchema::PayloadSchema() : compiled_(std::make_unique<Compiled>()) {}
PayloadSchema::~PayloadSchema() = default;

Result<std::shared_ptr<const PayloadSchema>> PayloadSchema::compile_text(std::string_view schema_json) {
  auto document = nlohmann::json::parse(schema_json, nullptr, false);
  if (document.is_discarded()) return make_error(ErrorCode::unprocessable, "the schema is not valid JSON");
  return compile(document);
}

Result<std::shared_ptr<const PayloadSchema>> PayloadSchema::compile(const nlohmann::json& schema) {
  if (!schema.is_object() && !schema.is_boolean()) {
    return make_error(ErrorCode::unprocessable, "a schema must be a JSON object");
  }
  std::shared_ptr<PayloadSchema> compiled(new PayloadSchema());
  try {
    // valijson reports unreadable schemas (an unknown type name, a malformed
    // keyword, an unresolvable $ref) by throwing; caught here, at its edge.
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(schema);
    parser.populateSchema(adapter, compiled->compiled_->schema);
  } catch (const std::exception& error) {
    return make_error(ErrorCode::unprocessable, std::string("the schema cannot be used: ") + error.what());
  }
  return std::shared_ptr<const PayloadSchema>(std::move(compiled));
}

namespace {

// valijson's context is {"<root>", "[customer]", "[email]"}; a JSON Pointer
// is "/customer/email", with '~' and '/' escaped as ~0 and ~1.
std::string json_pointer(const std::vector<std::string>& context) {
  std::string pointer;
  for (const auto& part : context) {
    if (part.size() < 2 || part.front() != '[' || part.back() != ']') continue;
    pointer += '/';
    for (char c : std::string_view(part).substr(1, part.size() - 2)) {
      if (c == '~')
        pointer += "~0";
      else if (c == '/')
        pointer += "~1";
      else
        pointer += c;
    }
  }
  return pointer;
}

}  // namespace

Status PayloadSchema::check(const nlohmann::json& payload) const {
  // valijson compiles a "pattern" into a std::regex on first use and caches
  // it in the Validator; one Validator per thread keeps that cache warm (a
  // fresh one per check spent most of its time compiling regexes).
  thread_local valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(payload);
  bool valid = false;
  try {
    valid = validator.validate(compiled_->schema, target, &results);
  } catch (const std::exception& error) {
    return make_error(ErrorCode::schema_violation, std::string("the payload could not be checked: ") + error.what());
  }
  if (valid) return {};
  // valijson reports the enclosing failures ("failed to validate against
  // the schema of property 'customer'") before the cause; the deepest error
  // is the one that says what to fix.
  valijson::ValidationResults::Error deepest;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    if (deepest.context.empty() || error.context.size() > deepest.context.size()) deepest = error;
  }
  Error violation;
  violation.code = ErrorCode::schema_violation;
  violation.path = json_pointer(deepest.context);
  violation.message = "the payload does not match its event type's schema at " +
                      (violation.path.empty() ? std::string("the top level") : "\"" + violation.path + "\"") + ": " +
                      deepest.description;
  return violation;
}

}  // namespace ferry
