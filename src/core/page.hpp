#pragma once

#include <optional>
#include <string>
#include <vector>

namespace ferry {

// Cursor pagination over id-ordered lists, newest first. Ids are
// time-ordered (see ids.hpp), so "after the cursor" means "older than it".
struct PageRequest {
  std::string cursor;  // exclusive; empty for the first page
  int limit = 50;
};

template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;  // absent on the last page
};

}  // namespace ferry
