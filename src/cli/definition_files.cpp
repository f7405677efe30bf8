#include "cli/definition_files.hpp"

#include <fstream>
#include <iterator>

namespace ferry {

namespace {
Error about_file(const std::string& path, const Error& error) {
  Error named = error;
  named.message = path + ": " + error.message;
  return named;
}
}  // namespace

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::not_found, "cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Status load_profile_files(const std::vector<std::string>& paths, WireProfiles& profiles) {
  for (const auto& path : paths) {
    auto text = read_text_file(path);
    if (!text) return text.error();
    auto parsed = parse_wire_profiles(*text);
    if (!parsed) return about_file(path, parsed.error());
    for (auto& profile : *parsed) {
      if (auto added = profiles.add(std::move(profile)); !added) return about_file(path, added.error());
    }
  }
  return {};
}

Result<CatalogFile> read_catalog_file(const std::string& path, const WireProfiles& profiles) {
  auto text = read_text_file(path);
  if (!text) return text.error();
  auto file = parse_catalog_file(*text, [&](std::string_view name) { return profiles.find(name) != nullptr; });
  if (!file) return about_file(path, file.error());
  return file;
}

}  // namespace ferry
