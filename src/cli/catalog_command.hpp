#pragma once

#include <string>
#include <vector>

namespace ferry {

// `ferry catalog list | show TYPE | validate FILE`: catalogs on disk, read
// without a server.
struct CatalogCommandSettings {
  // Catalog files to read; a directory stands for every *.json in it.
  std::vector<std::string> catalogs{"catalogs"};
  std::vector<std::string> profile_files;  // custom profiles a catalog may name
  std::string type;                        // show: the event type
  std::string file;                        // validate: the file
  bool json = false;                       // list/show: machine-readable output
};

// Each returns the process exit code: 0 done, 1 invalid input, 2 not found.
int run_catalog_list(const CatalogCommandSettings& settings);
int run_catalog_show(const CatalogCommandSettings& settings);
int run_catalog_validate(const CatalogCommandSettings& settings);

}  // namespace ferry
