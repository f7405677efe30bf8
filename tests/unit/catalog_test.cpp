#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "catalog/catalog_file.hpp"
#include "catalog/catalog_registry.hpp"
#include "catalog/payload_schema.hpp"
#include "core/wire_profile.hpp"
#include "ingest/message_preparation.hpp"
#include "store/sqlite_store.hpp"
#include "unit/store_test_support.hpp"

namespace ferry {
namespace {

bool any_profile(std::string_view) { return true; }

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A small catalog in the format of catalogs/*.json, members in file order.
nlohmann::ordered_json shop_catalog() {
  return nlohmann::ordered_json::parse(R"({
    "catalog": "shop",
    "title": "Shop",
    "profile": "standard-webhooks",
    "stamp_workspace_id": true,
    "aliases": [{"name": "channel_delivery_status", "dotted_variants": true, "type_field": "status",
                 "outbound": "delivery.{status}", "variant_field": "channel"}],
    "event_types": [
      {"name": "delivery.delivered", "group": "delivery", "flags": ["PASSIVE"],
       "schema": {"type": "object", "required": ["workspace_id", "message_id", "channel"],
                  "properties": {"workspace_id": {"type": "string"}, "message_id": {"type": "string"},
                                 "channel": {"enum": ["email", "whatsapp"]}}},
       "examples": [{"workspace_id": "ws_x", "message_id": "m1", "channel": "email"}]},
      {"name": "order.paid", "group": "order",
       "schema": {"type": "object", "required": ["customer"],
                  "properties": {"customer": {"type": "object", "required": ["email"],
                                              "properties": {"email": {"type": "string"}}}}},
       "examples": [{"customer": {"email": "a@example.com"}}], "decision": "made up for the test"}
    ]})");
}

Result<CatalogFile> parse(const nlohmann::ordered_json& document) {
  return parse_catalog_file(document.dump(), any_profile);
}

TEST(CatalogFile, ReadsSettingsTypesAndDecisions) {
  auto file = parse(shop_catalog());
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->settings.name, "shop");
  EXPECT_TRUE(file->settings.stamp_workspace_id);
  ASSERT_EQ(file->settings.aliases.size(), 1U);
  EXPECT_EQ(file->settings.type_decisions.at("order.paid"), "made up for the test");
  ASSERT_EQ(file->event_types.size(), 2U);
  EXPECT_EQ(file->event_types[0].catalog, "shop");
  EXPECT_EQ(file->event_types[0].flags, std::vector<std::string>{"PASSIVE"});
  // The stored settings read back the same.
  auto settings = parse_catalog_settings(catalog_settings_to_json(file->settings));
  ASSERT_TRUE(settings.ok()) << settings.error().message;
  EXPECT_EQ(settings->aliases[0].outbound, "delivery.{status}");
  EXPECT_EQ(settings->type_decisions.size(), 1U);
}

TEST(CatalogFile, ErrorsNameThePlace) {
  const auto expect_error = [](nlohmann::ordered_json document, const std::string& fragment) {
    auto file = parse(document);
    ASSERT_FALSE(file.ok()) << "accepted; expected an error about " << fragment;
    EXPECT_EQ(file.error().code, ErrorCode::unprocessable);
    EXPECT_NE(file.error().message.find(fragment), std::string::npos) << file.error().message;
  };
  auto typo = shop_catalog();
  typo["stamp_workspace_ids"] = true;
  expect_error(typo, "unknown key \"stamp_workspace_ids\"");
  auto bad_example = shop_catalog();
  bad_example["event_types"][1]["examples"][0]["customer"]["email"] = 7;
  expect_error(bad_example, "event_types[1] (order.paid).examples[0]");
  auto twice = shop_catalog();
  twice["event_types"][1]["name"] = "delivery.delivered";
  expect_error(twice, "listed twice");
  auto no_examples = shop_catalog();
  no_examples["event_types"][0].erase("examples");
  expect_error(no_examples, "\"examples\"");
  auto bad_schema = shop_catalog();
  bad_schema["event_types"][0]["schema"] = nlohmann::ordered_json::parse(R"({"type": "no-such-type"})");
  expect_error(bad_schema, "event_types[0] (delivery.delivered).schema");
  auto alias = shop_catalog();
  alias["aliases"][0]["outbound"] = "delivery.fixed";
  expect_error(alias, "{status}");
  auto name = shop_catalog();
  name["catalog"] = "Shop!";
  expect_error(name, "\"catalog\"");
  EXPECT_FALSE(parse_catalog_file("{not json", any_profile).ok());
  auto unknown_profile = parse_catalog_file(shop_catalog().dump(), [](std::string_view) { return false; });
  ASSERT_FALSE(unknown_profile.ok());
  EXPECT_NE(unknown_profile.error().message.find("standard-webhooks"), std::string::npos);
}

TEST(CatalogFile, EverySeedCatalogLoadsWithTheBuiltInProfiles) {
  const WireProfiles profiles;
  int catalogs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(FERRY_CATALOG_DIR)) {
    if (entry.path().extension() != ".json") continue;
    auto file = parse_catalog_file(read_text(entry.path()),
                                   [&](std::string_view name) { return profiles.find(name) != nullptr; });
    ASSERT_TRUE(file.ok()) << entry.path() << ": " << file.error().message;
    EXPECT_EQ(file->settings.name + ".json", entry.path().filename().string());
    EXPECT_EQ(file->settings.profile, file->settings.name) << "each product brings its own wire profile";
    ++catalogs;
  }
  EXPECT_EQ(catalogs, 5);
}

TEST(PayloadSchema, NamesTheDeepestFailingPlace) {
  auto schema = PayloadSchema::compile_text(shop_catalog()["event_types"][1]["schema"].dump());
  ASSERT_TRUE(schema.ok()) << schema.error().message;
  EXPECT_TRUE((*schema)->check(nlohmann::json::parse(R"({"customer":{"email":"x"}})")).ok());
  auto wrong = (*schema)->check(nlohmann::json::parse(R"({"customer":{"email":5}})"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::schema_violation);
  EXPECT_EQ(wrong.error().path, "/customer/email");
  auto missing = (*schema)->check(nlohmann::json::parse(R"({"customer":{}})"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().path, "/customer");
  EXPECT_NE(missing.error().message.find("email"), std::string::npos) << missing.error().message;
}

class Preparation : public testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqliteStore::open((dir_.path() / "ferry.db").string());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(*opened);
    registry_ = std::make_unique<CatalogRegistry>(*store_, clock_);
    auto file = parse(shop_catalog());
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(registry_->load(*file).ok());
    workspace_.id = "ws_1";
    workspace_.catalog = "shop";
  }

  Result<ParsedMessage> prepare(const std::string& type, const std::string& data) {
    ParsedMessage message;
    message.type = type;
    message.data = data;
    return prepare_message(*registry_->snapshot(), workspace_, std::move(message));
  }

  TempDir dir_;
  SystemClock clock_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<CatalogRegistry> registry_;
  Workspace workspace_;
};

TEST_F(Preparation, InternalNamesGoOutFlattenedWithTheVariantAndTheWorkspace) {
  auto message = prepare("channel_delivery_status.whatsapp", R"( {"status":"delivered","message_id":"m1"})");
  ASSERT_TRUE(message.ok()) << message.error().message;
  EXPECT_EQ(message->type, "delivery.delivered");
  EXPECT_EQ(message->data, R"( {"workspace_id":"ws_1","channel":"whatsapp","status":"delivered","message_id":"m1"})");
  EXPECT_EQ(message->flags, std::vector<std::string>{"PASSIVE"});
  auto unknown = prepare("channel_delivery_status", R"({"status":"teleported","channel":"email"})");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::unknown_event_type);
  auto without = prepare("channel_delivery_status", R"({"channel":"email"})");
  ASSERT_FALSE(without.ok());
  EXPECT_NE(without.error().message.find("\"status\""), std::string::npos);
}

TEST_F(Preparation, TheWorkspaceIdIsStampedAndNeverContradicted) {
  auto kept = prepare("delivery.delivered", R"({"workspace_id":"ws_1","message_id":"m","channel":"email"})");
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  EXPECT_EQ(kept->data, R"({"workspace_id":"ws_1","message_id":"m","channel":"email"})");
  auto other = prepare("delivery.delivered", R"({"workspace_id":"ws_2","message_id":"m","channel":"email"})");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().path, "/workspace_id");
  auto not_object = prepare("delivery.delivered", "[1]");
  EXPECT_FALSE(not_object.ok());
}

TEST_F(Preparation, SchemasUnknownAndArchivedTypesAndTheSwitches) {
  auto bad = prepare("order.paid", R"({"customer":{"email":1}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::schema_violation);
  EXPECT_EQ(bad.error().path, "/customer/email");
  workspace_.validate_payloads = false;
  EXPECT_TRUE(prepare("order.paid", R"({"customer":{"email":1}})").ok());
  EXPECT_EQ(prepare("order.lost", "{}").error().code, ErrorCode::unknown_event_type);

  auto type = store_->get_event_type("shop", "order.paid");
  ASSERT_TRUE(type.ok());
  type->archived = true;
  ASSERT_TRUE(registry_->upsert_type(*type).ok());
  EXPECT_EQ(prepare("order.paid", R"({"customer":{"email":"a"}})").error().code, ErrorCode::unknown_event_type);

  workspace_.test_mode = true;
  auto test = prepare("delivery.delivered", R"({"message_id":"m","channel":"email"})");
  ASSERT_TRUE(test.ok()) << test.error().message;
  EXPECT_TRUE(test->test);

  // Without a catalog any type goes and nothing is changed.
  workspace_.catalog.clear();
  auto free = prepare("anything.at.all", R"({"n": 1.50})");
  ASSERT_TRUE(free.ok());
  EXPECT_EQ(free->data, R"({"n": 1.50})");
  workspace_.catalog = "missing";
  EXPECT_EQ(prepare("order.paid", "{}").error().code, ErrorCode::unavailable);
}

TEST_F(Preparation, TestEventsCarryTheExampleTheWorkspaceAndTheTestMark) {
  auto message = test_message(*registry_->snapshot(), workspace_, "delivery.delivered");
  ASSERT_TRUE(message.ok()) << message.error().message;
  EXPECT_TRUE(message->test);
  EXPECT_EQ(nlohmann::json::parse(message->data)["workspace_id"], "ws_1");
  // Members keep the example's order; the workspace id replaces the example's in place.
  EXPECT_EQ(message->data, R"({"workspace_id":"ws_1","message_id":"m1","channel":"email"})");
  EXPECT_EQ(test_message(*registry_->snapshot(), workspace_, "no.such").error().code, ErrorCode::unknown_event_type);
}

TEST_F(Preparation, ReloadingACatalogArchivesTypesItNoLongerLists) {
  auto smaller = shop_catalog();
  smaller["event_types"].erase(1);
  auto file = parse(smaller);
  ASSERT_TRUE(file.ok());
  auto report = registry_->load(*file);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->types_loaded, 1);
  EXPECT_EQ(report->types_archived, 1);
  EXPECT_TRUE(registry_->snapshot()->type("shop", "order.paid")->type.archived);
}

}  // namespace
}  // namespace ferry
