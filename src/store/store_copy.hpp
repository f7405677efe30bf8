#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/result.hpp"
#include "store/store.hpp"

namespace ferry {

// How far a copy got.
struct CopyCounts {
  std::int64_t catalogs = 0;
  std::int64_t event_types = 0;
  std::int64_t workspaces = 0;
  std::int64_t api_keys = 0;
  std::int64_t endpoints = 0;
  std::int64_t messages = 0;
  std::int64_t deliveries = 0;
  std::int64_t attempts = 0;
};

struct CopyOptions {
  // Copy into a store that already holds data; rows whose id exists there
  // are kept as they are. Without it a non-empty target is refused.
  bool merge = false;
  int messages_per_transaction = 200;
  // Called after each batch, for progress reports.
  std::function<void(const CopyCounts&)> on_progress;
};

// Copies everything from one store into another with the same ids: event
// types, workspaces, API keys (hashes), endpoints with their secrets,
// messages with their idempotency keys, deliveries in their states, and
// attempts. A delivery that succeeded or failed stays finished, so the
// target never sends it again; open ones carry on there. Running it again
// after an interruption (with merge) completes the copy without doubling
// anything. The source must not be served while it is copied.
Result<CopyCounts> copy_store(Store& from, Store& to, const CopyOptions& options);

}  // namespace ferry
