#include "cli/catalog_command.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "catalog/catalog_file.hpp"
#include "cli/definition_files.hpp"
#include "core/wire_profile.hpp"

namespace ferry {

namespace {

// Every catalog named (files, or directories of *.json), in name order.
Result<std::vector<CatalogFile>> read_catalogs(const CatalogCommandSettings& settings, const WireProfiles& profiles) {
  std::vector<std::string> paths;
  for (const auto& given : settings.catalogs) {
    std::error_code ec;
    if (std::filesystem::is_directory(given, ec)) {
      for (const auto& entry : std::filesystem::directory_iterator(given, ec)) {
        if (entry.path().extension() == ".json") paths.push_back(entry.path().string());
      }
    } else {
      paths.push_back(given);
    }
  }
  std::sort(paths.begin(), paths.end());
  std::vector<CatalogFile> files;
  for (const auto& path : paths) {
    auto file = read_catalog_file(path, profiles);
    if (!file) return file.error();
    files.push_back(std::move(*file));
  }
  return files;
}

std::string flags_text(const EventType& type) {
  std::string text;
  for (const auto& flag : type.flags) text += (text.empty() ? "" : ",") + flag;
  return text.empty() ? "-" : text;
}

nlohmann::json type_json(const CatalogFile& file, const EventType& type) {
  nlohmann::json examples = nlohmann::json::array();
  for (const auto& example : type.examples_json) examples.push_back(nlohmann::json::parse(example));
  nlohmann::json json = {
      {"catalog", file.settings.name},
      {"name", type.name},
      {"group", type.group},
      {"description", type.description},
      {"flags", type.flags},
      {"schema", type.schema_json.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(type.schema_json)},
      {"examples", std::move(examples)}};
  if (auto decision = file.settings.type_decisions.find(type.name); decision != file.settings.type_decisions.end()) {
    json["decision"] = decision->second;
  }
  return json;
}

int report(const Error& error) {
  std::cerr << "ferry catalog: " << error.message << '\n';
  return error.code == ErrorCode::not_found ? 2 : 1;
}

}  // namespace

int run_catalog_validate(const CatalogCommandSettings& settings) {
  WireProfiles profiles;
  if (auto loaded = load_profile_files(settings.profile_files, profiles); !loaded) return report(loaded.error());
  auto file = read_catalog_file(settings.file, profiles);
  if (!file) return report(file.error());
  std::size_t examples = 0;
  for (const auto& type : file->event_types) examples += type.examples_json.size();
  std::cout << settings.file << ": catalog \"" << file->settings.name << "\" is valid: " << file->event_types.size()
            << " event types, " << examples << " examples, each valid against its schema" << '\n';
  return 0;
}

int run_catalog_list(const CatalogCommandSettings& settings) {
  WireProfiles profiles;
  if (auto loaded = load_profile_files(settings.profile_files, profiles); !loaded) return report(loaded.error());
  auto files = read_catalogs(settings, profiles);
  if (!files) return report(files.error());
  if (settings.json) {
    nlohmann::json data = nlohmann::json::array();
    for (const auto& file : *files) {
      for (const auto& type : file.event_types) data.push_back(type_json(file, type));
    }
    std::cout << data.dump(2) << '\n';
    return 0;
  }
  for (const auto& file : *files) {
    std::cout << file.settings.name << " (" << file.settings.title << ", profile " << file.settings.profile
              << "): " << file.event_types.size() << " event types\n";
    for (const auto& type : file.event_types) {
      std::cout << "  " << type.name << "  [" << type.group << "]  " << flags_text(type) << "  " << type.description
                << '\n';
    }
  }
  return 0;
}

int run_catalog_show(const CatalogCommandSettings& settings) {
  WireProfiles profiles;
  if (auto loaded = load_profile_files(settings.profile_files, profiles); !loaded) return report(loaded.error());
  auto files = read_catalogs(settings, profiles);
  if (!files) return report(files.error());
  nlohmann::json found = nlohmann::json::array();
  for (const auto& file : *files) {
    for (const auto& type : file.event_types) {
      if (type.name == settings.type) found.push_back(type_json(file, type));
    }
  }
  if (found.empty()) {
    return report(make_error(ErrorCode::not_found, "no catalog read lists the event type \"" + settings.type + "\""));
  }
  // The same name may live in several catalogs; each is shown.
  std::cout << (found.size() == 1 ? found.front() : found).dump(2) << '\n';
  return 0;
}

}  // namespace ferry
