#pragma once

#include <memory>
#include <string>

#include "core/result.hpp"
#include "store/store.hpp"

namespace ferry {

// Where Ferry keeps its truth.
struct StoreLocation {
  // postgresql://USER@HOST:PORT/DB (or postgres://…) for PostgreSQL; empty
  // for the embedded SQLite database in `data_dir`.
  std::string database;
  std::string data_dir = "./data";
  int pool_size = 8;  // PostgreSQL connections this process may hold
};

// Opens the store the location names and brings its schema up to date.
Result<std::unique_ptr<Store>> open_store(const StoreLocation& location);

// Whether `database` names a PostgreSQL server.
bool is_postgres_url(std::string_view database);

}  // namespace ferry
