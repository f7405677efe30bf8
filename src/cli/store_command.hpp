#pragma once

#include <string>

namespace ferry {

struct StoreCopySettings {
  std::string from;  // a data directory (SQLite) or a postgresql:// URL
  std::string to;    // the same
  bool merge = false;
};

// `ferry store copy`: moves a Ferry store to another backend with the same
// ids. Returns the process exit code.
int run_store_copy(const StoreCopySettings& settings);

}  // namespace ferry
