#include "store/open_store.hpp"

#include <filesystem>

#include "store/sqlite_store.hpp"

namespace ferry {

bool is_postgres_url(std::string_view database) {
  return database.starts_with("postgresql://") || database.starts_with("postgres://");
}

Result<std::unique_ptr<Store>> open_store(const StoreLocation& location) {
  if (!location.database.empty()) {
    return Error{ErrorCode::bad_request, "--database: only the embedded SQLite store is available in this build"};
  }
  auto store = SqliteStore::open((std::filesystem::path(location.data_dir) / "ferry.db").string());
  if (!store) return store.error();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace ferry
