#include "catalog/payload_schema.hpp"

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <cctype>
#include <exception>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ferry {

namespace {

// valijson checks "pattern", "patternProperties" and the date and time
// formats with std::regex. libstdc++'s regex compiler and its default
// (backtracking) matcher recurse about once per character, per group of the
// pattern: a long string, e.g. one of 25,000 digits for "^[0-9]+$" (8,000
// under ASan, far fewer for a pattern with groups), overflows the stack and
// kills the process, and payloads come from producers. So:
// - "pattern"s are matched with libstdc++'s polynomial matcher, whose
//   recursion depends on the pattern only and which never takes exponential
//   time. Only a payload whose strings are all at most
//   kBacktrackingTextBytes long would keep the backtracking one (some 40%
//   faster on the seed catalogs); that is 0, because even a 30-character
//   string can take the backtracking matcher hours on a nested pattern such
//   as ^([a-z]+_?)*$, and schemas are written by people;
// - patterns are kept short, their compiler recursing per character too,
//   and repetition counts within libstdc++'s limit of 100,000 states (past
//   it libstdc++ refuses the pattern anyway; its compiler overflows a long,
//   undefined behaviour, on a count of 19 digits or more);
// - where a schema has regex keywords, strings and member names are kept
//   under kMaxRegexTextBytes: that bounds the time of matching, and the
//   recursion of the matchers valijson makes itself (formats,
//   "patternProperties").
constexpr std::size_t kBacktrackingTextBytes = 0;
constexpr std::size_t kMaxRegexTextBytes = 4096;
constexpr std::size_t kMaxPatternBytes = 1024;
constexpr unsigned long kMaxPatternCount = 100000;
constexpr auto kPolynomialSyntax = std::regex::ECMAScript | std::regex_constants::__polynomial;  // libstdc++'s

// "" when std::regex may be given the pattern, else what is wrong with it.
std::string pattern_problem(std::string_view pattern) {
  if (pattern.size() > kMaxPatternBytes) {
    return "a pattern may be at most " + std::to_string(kMaxPatternBytes) + " bytes";
  }
  const auto is_digit = [&](std::size_t i) {
    return i < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[i])) != 0;
  };
  // The number starting at `i`, capped just above the limit.
  const auto number_at = [&](std::size_t& i) {
    unsigned long value = 0;
    for (; is_digit(i); ++i) value = std::min<unsigned long>(value * 10 + (pattern[i] - '0'), kMaxPatternCount + 1);
    return value;
  };
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    unsigned long count = 0;
    if (pattern[i] == '\\') {
      if (is_digit(i + 1) && pattern[i + 1] != '0') {
        return "pattern \"" + std::string(pattern) +
               "\" has a back-reference, which Ferry does not support (the matcher safe for long strings has none)";
      }
      ++i;  // an escaped character
      continue;
    }
    if (pattern[i] == '{') {
      std::size_t at = i + 1;
      count = number_at(at);
      if (at < pattern.size() && pattern[at] == ',') count = std::max(count, number_at(++at));
    }
    if (count > kMaxPatternCount) {
      return "pattern \"" + std::string(pattern) + "\" counts beyond " + std::to_string(kMaxPatternCount);
    }
  }
  return "";
}

struct SchemaRegexes {
  bool any = false;                   // "pattern", "patternProperties" or "format"
  std::vector<std::string> patterns;  // each distinct "pattern"
};

// The regexes of a schema; an error when a pattern is unsafe. Iterative: the
// schema may nest deeply.
Result<SchemaRegexes> schema_regexes(const nlohmann::json& schema) {
  SchemaRegexes regexes;
  std::vector<const nlohmann::json*> pending = {&schema};
  while (!pending.empty()) {
    const nlohmann::json& value = *pending.back();
    pending.pop_back();
    if (value.is_array()) {
      for (const auto& item : value) pending.push_back(&item);
      continue;
    }
    if (!value.is_object()) continue;
    for (const auto& [key, member] : value.items()) {
      std::string problem;
      if (key == "pattern" && member.is_string()) {
        const auto& pattern = member.get_ref<const std::string&>();
        problem = pattern_problem(pattern);
        if (std::find(regexes.patterns.begin(), regexes.patterns.end(), pattern) == regexes.patterns.end()) {
          regexes.patterns.push_back(pattern);
        }
      } else if (key == "patternProperties" && member.is_object()) {
        for (const auto& [pattern, subschema] : member.items()) {
          if (problem.empty()) problem = pattern_problem(pattern);
        }
      } else if (key != "format") {
        pending.push_back(&member);
        continue;
      }
      if (!problem.empty()) return make_error(ErrorCode::unprocessable, "the schema cannot be used: " + problem);
      regexes.any = true;
      pending.push_back(&member);
    }
  }
  return regexes;
}

std::string pointer_token(std::string_view text) {
  std::string token;
  for (char c : text) {
    if (c == '~')
      token += "~0";
    else if (c == '/')
      token += "~1";
    else
      token += c;
  }
  return token;
}

// The length of the longest string or member name. Iterative, like
// schema_regexes.
std::size_t longest_text(const nlohmann::json& payload) {
  std::size_t longest = 0;
  std::vector<const nlohmann::json*> pending = {&payload};
  while (!pending.empty()) {
    const nlohmann::json& value = *pending.back();
    pending.pop_back();
    if (value.is_string()) {
      longest = std::max(longest, value.get_ref<const std::string&>().size());
    } else if (value.is_array()) {
      for (const auto& item : value) pending.push_back(&item);
    } else if (value.is_object()) {
      for (const auto& [key, member] : value.items()) {
        longest = std::max(longest, key.size());
        pending.push_back(&member);
      }
    }
  }
  return longest;
}

// The JSON Pointer of the first string or member name longer than `limit`.
std::string pointer_to_text_longer_than(const nlohmann::json& payload, std::size_t limit) {
  std::vector<std::pair<const nlohmann::json*, std::string>> pending;
  pending.emplace_back(&payload, "");
  while (!pending.empty()) {
    auto [value, pointer] = std::move(pending.back());
    pending.pop_back();
    if (value->is_string() && value->get_ref<const std::string&>().size() > limit) return pointer;
    if (value->is_array()) {
      for (std::size_t i = 0; i < value->size(); ++i) {
        pending.emplace_back(&(*value)[i], pointer + "/" + std::to_string(i));
      }
    } else if (value->is_object()) {
      for (const auto& [key, member] : value->items()) {
        std::string member_pointer = pointer + "/" + pointer_token(key);
        if (key.size() > limit) return member_pointer;
        pending.emplace_back(&member, std::move(member_pointer));
      }
    }
  }
  return "";
}

}  // namespace

struct PayloadSchema::Compiled {
  valijson::Schema schema;
  SchemaRegexes regexes;  // when any, strings longer than kMaxRegexTextBytes are refused
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
  auto regexes = schema_regexes(schema);
  if (!regexes) return regexes.error();
  std::shared_ptr<PayloadSchema> compiled(new PayloadSchema());
  compiled->compiled_->regexes = std::move(*regexes);
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
  const std::size_t longest = compiled_->regexes.any ? longest_text(payload) : 0;
  if (longest > kMaxRegexTextBytes) {
    Error violation;
    violation.code = ErrorCode::schema_violation;
    violation.path = pointer_to_text_longer_than(payload, kMaxRegexTextBytes);
    violation.message = "the payload does not match its event type's schema at " +
                        (violation.path.empty() ? std::string("the top level") : "\"" + violation.path + "\"") +
                        ": where a schema has patterns or formats, strings and member names may be at most " +
                        std::to_string(kMaxRegexTextBytes) + " bytes";
    return violation;
  }
  // valijson looks each "pattern" up in the cache it is given, compiling it
  // (backtracking) only when it is not there; compiling per check spent most
  // of the time, so the caches are kept per thread. The polynomial one gets
  // this schema's patterns compiled polynomial first, below. (What
  // valijson::Validator::validate does, with our caches instead of its own.)
  thread_local std::unordered_map<std::string, std::regex> backtracking_cache;
  thread_local std::unordered_map<std::string, std::regex> polynomial_cache;
  auto& regex_cache = longest <= kBacktrackingTextBytes ? backtracking_cache : polynomial_cache;
  if (regex_cache.size() > 4096) regex_cache.clear();  // patterns of schemas replaced since
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(payload);
  bool valid = false;
  try {
    if (&regex_cache == &polynomial_cache) {
      for (const auto& pattern : compiled_->regexes.patterns) {
        if (!regex_cache.contains(pattern)) regex_cache.emplace(pattern, std::regex(pattern, kPolynomialSyntax));
      }
    }
    valijson::ValidationVisitor<valijson::adapters::NlohmannJsonAdapter> visitor(
        target, std::vector<std::string>(1, "<root>"), /*strictTypes=*/true, &results, regex_cache);
    valid = visitor.validateSchema(compiled_->schema);
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
