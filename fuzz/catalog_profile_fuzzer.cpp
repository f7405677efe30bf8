// Fuzzes the loading of the files that define what Ferry sends: catalogs
// (src/catalog/catalog_file.*, with each event type's JSON Schema compiled
// and its examples checked by src/catalog/payload_schema.*) and wire
// profiles (src/core/wire_profile_json.cpp, whose validation reads header
// templates with src/core/wire_profile_template.cpp). Every input is tried as
// a catalog, as a profile file and as one profile; a profile that loads is
// then rendered for a message, and the input is also expanded as a header
// template.
//
// Invariants:
// - nothing throws or crashes; errors are bad_request or unprocessable with a message;
// - a loaded catalog keeps its promises (valid, unique names; at least one
//   example per type, each valid against the type's schema, which compiles
//   again from the stored text); its settings survive
//   catalog_settings_to_json -> parse_catalog_settings;
// - a type's schema answers for what a producer may publish (its first
//   example with long runs in every string or member name) without crashing;
// - a loaded profile validates, and parse_wire_profile(wire_profile_to_json(p)) == p;
//   parse_wire_profile and parse_wire_profiles agree on a single profile;
// - a rendered request has a JSON body and no header value with a line break;
// - a template with no '{' expands to itself.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalog_file.hpp"
#include "catalog/payload_schema.hpp"
#include "core/envelope.hpp"
#include "core/event_type_name.hpp"
#include "core/wire_profile.hpp"
#include "core/wire_profile_template.hpp"
#include "fuzz_check.hpp"

namespace {

using ferry::ErrorCode;

void check_error(const ferry::Error& error) {
  FUZZ_CHECK(error.code == ErrorCode::bad_request || error.code == ErrorCode::unprocessable);
  FUZZ_CHECK(!error.message.empty());
}

bool profile_exists(std::string_view name) { return ferry::find_builtin_profile(name) != nullptr || name == "acme"; }

void check_same_settings(const ferry::CatalogSettings& a, const ferry::CatalogSettings& b) {
  FUZZ_CHECK(a.name == b.name && a.title == b.title && a.description == b.description && a.reference == b.reference);
  FUZZ_CHECK(a.profile == b.profile && a.stamp_workspace_id == b.stamp_workspace_id);
  FUZZ_CHECK(a.decisions == b.decisions && a.type_decisions == b.type_decisions);
  FUZZ_CHECK(a.aliases.size() == b.aliases.size());
  for (std::size_t i = 0; i < a.aliases.size(); ++i) {
    const auto& x = a.aliases[i];
    const auto& y = b.aliases[i];
    FUZZ_CHECK(x.name == y.name && x.dotted_variants == y.dotted_variants && x.type_field == y.type_field &&
               x.outbound == y.outbound && x.variant_field == y.variant_field);
  }
}

// What a producer may publish for a type: its example with every string
// value, or every member name, grown to 64 KiB by a run of one of its own
// characters, the first or the one before the last ("ann@example.com"
// becomes "aaaa…ann@example.com" or "ann@example.coooo…om", still of the
// example's shape). A publish body may hold 1 MiB. Iterative, so deep
// examples do not overflow the harness's own stack.
enum class Grow { values_at_front, values_before_last, names };

nlohmann::json with_long_strings(const std::string& example_json, Grow how) {
  auto payload = nlohmann::json::parse(example_json);
  const auto grow = [how](const std::string& text) {
    constexpr std::size_t kLength = 64 * 1024;
    if (text.empty()) return std::string(kLength, 'x');
    const std::size_t at = how != Grow::values_before_last || text.size() < 2 ? 0 : text.size() - 2;
    std::string out = text;
    out.insert(at, kLength, text[at]);
    return out;
  };
  std::vector<nlohmann::json*> pending = {&payload};
  while (!pending.empty()) {
    nlohmann::json* value = pending.back();
    pending.pop_back();
    if (value->is_string()) {
      if (how != Grow::names) *value = grow(value->get<std::string>());
    } else if (value->is_array()) {
      for (auto& item : *value) pending.push_back(&item);
    } else if (value->is_object()) {
      if (how == Grow::names) {
        nlohmann::json renamed = nlohmann::json::object();
        for (auto& [key, member] : value->items()) renamed[grow(key)] = std::move(member);
        *value = std::move(renamed);
      }
      for (auto& [key, member] : value->items()) pending.push_back(&member);
    }
  }
  return payload;
}

void check_catalog(const ferry::CatalogFile& file) {
  const auto& settings = file.settings;
  FUZZ_CHECK(ferry::is_valid_catalog_name(settings.name));
  FUZZ_CHECK(!settings.title.empty());
  FUZZ_CHECK(settings.profile.empty() || profile_exists(settings.profile));
  FUZZ_CHECK(!file.event_types.empty());
  std::set<std::string, std::less<>> names;
  for (const auto& type : file.event_types) {
    FUZZ_CHECK(ferry::is_valid_event_type_name(type.name));
    FUZZ_CHECK(names.insert(type.name).second);
    FUZZ_CHECK(type.catalog == settings.name);
    for (const auto& flag : type.flags) FUZZ_CHECK(ferry::is_valid_event_flag(flag));
    FUZZ_CHECK(!type.examples_json.empty());
    std::shared_ptr<const ferry::PayloadSchema> schema;
    if (!type.schema_json.empty()) {
      auto compiled = ferry::PayloadSchema::compile_text(type.schema_json);
      FUZZ_CHECK(compiled.ok());
      schema = *compiled;
    }
    for (const auto& example : type.examples_json) {
      auto payload = nlohmann::json::parse(example, nullptr, false);
      FUZZ_CHECK(!payload.is_discarded());
      if (schema) FUZZ_CHECK(schema->check(payload).ok());
    }
    // What a producer may publish is checked against the schema too: it must
    // answer (ok or a violation), whatever the payload's size.
    if (schema) {
      for (Grow how : {Grow::values_at_front, Grow::values_before_last, Grow::names}) {
        auto checked = schema->check(with_long_strings(type.examples_json.front(), how));
        if (!checked) FUZZ_CHECK(checked.error().code == ErrorCode::schema_violation);
      }
    }
  }
  for (const auto& alias : settings.aliases) {
    FUZZ_CHECK(ferry::is_valid_event_type_name(alias.name));
    FUZZ_CHECK(!names.contains(alias.name));
    FUZZ_CHECK(alias.outbound.find("{" + alias.type_field + "}") != std::string::npos);
    std::string variant = "left over";
    FUZZ_CHECK(ferry::alias_applies(alias, alias.name, &variant) && variant.empty());
    if (alias.dotted_variants) {
      FUZZ_CHECK(ferry::alias_applies(alias, alias.name + ".v", &variant) && variant == "v");
    }
  }
  auto stored = ferry::parse_catalog_settings(ferry::catalog_settings_to_json(settings));
  FUZZ_CHECK(stored.ok());
  check_same_settings(settings, *stored);
}

void check_render(const ferry::WireProfile& profile) {
  ferry::Message message;
  message.id = "msg_01JDZQ6V3XK2T9E8R7M5N4P3AB";
  message.workspace_id = "ws_01JDZQ5";
  message.type = "order.completed";
  message.created_at_ms = 1763892000123;
  ferry::Endpoint endpoint;
  endpoint.id = "ep_01JDZQ7";
  endpoint.workspace_id = message.workspace_id;
  endpoint.secrets = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  endpoint.headers = {{"X-Custom", "1"}, {"content-type", "text/plain"}};
  // An object payload (spread by a flat layout, its "event" member dropped
  // when the envelope has one) and one that is not an object.
  for (const char* payload : {R"({"event":"spoof","n":60.00,"s":"caf\u00e9","a":[1,{"b":null}]})", "[1,2]"}) {
    message.payload = payload;
    const ferry::WireContext context{
        .message = message,
        .endpoint = endpoint,
        .delivery_id = "dl_01JDZQ8",
        .now_ms = 1763892001000,
        .default_user_agent = "Ferry/fuzz",
    };
    auto request = ferry::render_wire_request(profile, context);
    if (!request) {
      check_error(request.error());
      continue;
    }
    FUZZ_CHECK(nlohmann::json::accept(request->body));
    for (const auto& [name, value] : request->headers) {
      FUZZ_CHECK(!name.empty());
      FUZZ_CHECK(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    }
  }
}

void check_profile(const ferry::WireProfile& profile) {
  FUZZ_CHECK(ferry::validate_wire_profile(profile).ok());
  auto again = ferry::parse_wire_profile(ferry::wire_profile_to_json(profile));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == profile);
  check_render(profile);
}

void check_template(std::string_view text) {
  ferry::Message message;
  message.type = "order.completed";
  message.workspace_id = "ws_1";
  const ferry::TemplateValues values{
      .wire_id = "evt_1", .message = message, .endpoint_id = "ep_1", .delivery_id = "dl_1"};
  const std::string problem = ferry::check_header_template(text);
  const std::string expanded = ferry::expand_header_template(text, values);
  if (text.find('{') == std::string_view::npos) {
    FUZZ_CHECK(problem.empty());
    FUZZ_CHECK(expanded == text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto catalog = ferry::parse_catalog_file(text, profile_exists);
  if (catalog) {
    check_catalog(*catalog);
  } else {
    check_error(catalog.error());
  }

  auto profiles = ferry::parse_wire_profiles(text);
  if (profiles) {
    FUZZ_CHECK(!profiles->empty() || text.find("profiles") != std::string_view::npos);
    std::set<std::string> names;
    for (const auto& profile : *profiles) {
      FUZZ_CHECK(names.insert(profile.name).second);
      check_profile(profile);
    }
  } else {
    check_error(profiles.error());
  }

  auto profile = ferry::parse_wire_profile(text);
  if (profile) {
    check_profile(*profile);
    // A file of one profile (not a {"profiles":[…]} file) reads the same.
    auto document = nlohmann::json::parse(text, nullptr, false);
    if (!document.contains("profiles")) {
      FUZZ_CHECK(profiles.ok() && profiles->size() == 1 && (*profiles)[0] == *profile);
    }
  } else {
    check_error(profile.error());
  }

  if (size <= 2048) check_template(text);
  return 0;
}
