#include "cli/store_command.hpp"

#include <filesystem>
#include <iostream>

#include "cli/progress.hpp"
#include "store/open_store.hpp"
#include "store/store_copy.hpp"

namespace ferry {

namespace {

StoreLocation location_of(const std::string& where) {
  StoreLocation location;
  if (is_postgres_url(where)) {
    location.database = where;
    location.pool_size = 2;
  } else {
    location.data_dir = where;
  }
  return location;
}

std::string describe(const CopyCounts& counts) {
  return std::to_string(counts.workspaces) + " workspaces, " + std::to_string(counts.api_keys) + " API keys, " +
         std::to_string(counts.endpoints) + " endpoints, " + std::to_string(counts.catalogs) + " catalogs, " +
         std::to_string(counts.event_types) + " event types, " + std::to_string(counts.messages) + " messages, " +
         std::to_string(counts.deliveries) + " deliveries, " + std::to_string(counts.attempts) + " attempts";
}

}  // namespace

int run_store_copy(const StoreCopySettings& settings) {
  if (!is_postgres_url(settings.from) && !std::filesystem::exists(std::filesystem::path(settings.from) / "ferry.db")) {
    std::cerr << "ferry store copy: " << settings.from << " holds no Ferry database (ferry.db)\n";
    return 2;
  }
  auto from = open_store(location_of(settings.from));
  if (!from) {
    std::cerr << "ferry store copy: cannot open the source: " << from.error().message << '\n';
    return 1;
  }
  auto to = open_store(location_of(settings.to));
  if (!to) {
    std::cerr << "ferry store copy: cannot open the target: " << to.error().message << '\n';
    return 1;
  }
  CopyOptions options;
  options.merge = settings.merge;
  auto progress = Progress::counting(stderr, "store copy", "messages", Progress::is_terminal(stderr));
  options.on_progress = [&](const CopyCounts& counts) { progress.set_done(static_cast<std::size_t>(counts.messages)); };
  auto copied = copy_store(**from, **to, options);
  progress.finish();
  if (!copied) {
    if (copied.error().code == ErrorCode::conflict) {
      std::cerr << "ferry store copy: " << settings.to << " already holds data; pass --merge to add to it\n";
      return 3;
    }
    std::cerr << "ferry store copy: " << copied.error().message << '\n';
    return 1;
  }
  std::cout << "copied " << describe(*copied) << '\n';
  return 0;
}

}  // namespace ferry
