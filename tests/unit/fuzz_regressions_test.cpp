// Inputs the fuzz targets (fuzz/) found crashes with, fed again exactly as
// they crashed; the inputs are kept in fuzz/corpus/ as well.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "catalog/catalog_file.hpp"
#include "catalog/payload_schema.hpp"

namespace ferry {
namespace {

std::string corpus_file(const std::string& target, const std::string& name) {
  const auto path = std::filesystem::path(FERRY_CATALOG_DIR) / ".." / "fuzz" / "corpus" / target / name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool any_profile(std::string_view) { return true; }

// fuzz_catalog_profile's with_long_strings(…, Grow::values_before_last): the
// example with every string value grown by 64 KiB of its next-to-last
// character, as a producer may publish it.
nlohmann::json with_long_values(const std::string& example_json) {
  auto payload = nlohmann::json::parse(example_json);
  std::vector<nlohmann::json*> pending = {&payload};
  while (!pending.empty()) {
    nlohmann::json* value = pending.back();
    pending.pop_back();
    if (value->is_string()) {
      std::string text = value->get<std::string>();
      if (text.empty()) {
        text.assign(64 * 1024, 'x');
      } else {
        const std::size_t at = text.size() < 2 ? 0 : text.size() - 2;
        text.insert(at, 64 * 1024, text[at]);
      }
      *value = text;
    } else if (value->is_structured()) {
      for (auto& item : *value) pending.push_back(&item);
    }
  }
  return payload;
}

// fuzz_catalog_profile, seed catalog_pocketsflow_trimmed.json: checking a
// timestamp with a long fraction ("2024-12-01T10:00:00.000…0Z") against the
// catalog's RFC 3339 pattern overflowed the stack inside std::regex (its
// backtracking matcher recurses per character), killing the process. At
// publish time that string comes from a producer.
TEST(FuzzRegressions, LongStringInAPatternCheckedFieldIsAViolationNotACrash) {
  auto file = parse_catalog_file(corpus_file("catalog_profile", "catalog_pocketsflow_trimmed.json"), any_profile);
  ASSERT_TRUE(file.ok()) << file.error().message;
  ASSERT_FALSE(file->event_types.empty());
  const EventType& type = file->event_types.front();
  auto schema = PayloadSchema::compile_text(type.schema_json);
  ASSERT_TRUE(schema.ok()) << schema.error().message;
  auto checked = (*schema)->check(with_long_values(type.examples_json.front()));
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code, ErrorCode::schema_violation);
  EXPECT_NE(checked.error().message.find("at most 4096 bytes"), std::string::npos) << checked.error().message;
}

// The same bug with the e-mail pattern of the real catalogs, through
// catalog loading: an example of 100,000 characters.
TEST(FuzzRegressions, LongExampleForAPatternIsRefusedAtLoad) {
  const std::string catalog = R"({"catalog":"c","event_types":[{"name":"user.created",
      "schema":{"type":"object","properties":{"email":{"type":"string","pattern":"^[^@\\s]+@[^@\\s]+$"}}},
      "examples":[{"email":"a@)" +
                              std::string(100000, 'b') + R"("}]}]})";
  auto file = parse_catalog_file(catalog, any_profile);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message.find("/email"), std::string::npos) << file.error().message;
}

// Strings up to the limit are still matched, with patterns whose groups made
// the backtracking matcher recurse several times per character.
TEST(FuzzRegressions, PatternsWithGroupsMatchStringsUpToTheLimit) {
  auto schema = PayloadSchema::compile(nlohmann::json{{"type", "string"}, {"pattern", "^([a-z]+_?)*$"}});
  ASSERT_TRUE(schema.ok()) << schema.error().message;
  EXPECT_TRUE((*schema)->check(nlohmann::json(std::string(4096, 'a'))).ok());
  EXPECT_FALSE((*schema)->check(nlohmann::json(std::string(4095, 'a') + "-")).ok());
  EXPECT_FALSE((*schema)->check(nlohmann::json(std::string(4097, 'a'))).ok());
}

// fuzz_catalog_profile, crash-f738f2ee69e13169cec9748e83202d9ea7e4396f: a
// pattern with the repetition count {7777777777777777777777772} made
// libstdc++'s regex compiler overflow a long (undefined behaviour, reported
// by UBSan) when the examples were checked.
TEST(FuzzRegressions, PatternCountTooBigForRegexIsRefusedAtLoad) {
  auto file = parse_catalog_file(corpus_file("catalog_profile", "regression_pattern_count_overflow.json"), any_profile);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::unprocessable);
  EXPECT_NE(file.error().message.find("counts beyond 100000"), std::string::npos) << file.error().message;

  EXPECT_FALSE(PayloadSchema::compile(nlohmann::json{{"pattern", "^a{1,99999999999999999999}$"}}).ok());
  EXPECT_FALSE(PayloadSchema::compile(nlohmann::json{{"patternProperties", {{"^x\\123456789$", {}}}}}).ok());
  // Escaped braces are text, not a count.
  EXPECT_TRUE(PayloadSchema::compile(nlohmann::json{{"pattern", "^[0-9]{4}-\\{99999999999\\}$"}}).ok());
}

}  // namespace
}  // namespace ferry
