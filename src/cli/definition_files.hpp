#pragma once

// Reading the files that define what Ferry sends: wire profiles and catalogs.
// Shared by `ferry serve` and `ferry catalog`; errors name the file.

#include <string>
#include <vector>

#include "catalog/catalog_file.hpp"
#include "core/result.hpp"
#include "core/wire_profile.hpp"

namespace ferry {

Result<std::string> read_text_file(const std::string& path);

// Adds every profile of every file to `profiles`.
Status load_profile_files(const std::vector<std::string>& paths, WireProfiles& profiles);

// Reads and checks one catalog file; its profile must be one of `profiles`.
Result<CatalogFile> read_catalog_file(const std::string& path, const WireProfiles& profiles);

}  // namespace ferry
