#include "store/open_store.hpp"

#include <filesystem>

#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"

namespace ferry {

bool is_postgres_url(std::string_view database) {
  return database.starts_with("postgresql://") || database.starts_with("postgres://");
}

Result<std::unique_ptr<Store>> open_store(const StoreLocation& location) {
  if (!location.database.empty()) {
    if (!is_postgres_url(location.database)) {
      return make_error(ErrorCode::bad_request, "--database must be a postgresql:// URL");
    }
    auto store = PostgresStore::open(PostgresOptions{location.database, location.pool_size});
    if (!store) return store.error();
    return std::unique_ptr<Store>(std::move(*store));
  }
  auto store = SqliteStore::open((std::filesystem::path(location.data_dir) / "ferry.db").string());
  if (!store) return store.error();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace ferry
