#pragma once

// What both backends' schema migrations share: which steps run and what a
// failure says. Each backend creates schema_migrations, reads its version and
// applies a step in its own way (locks, transactions, dialect).

#include <span>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ferry {

inline Error migration_failed(int version, const Error& error) {
  return make_error(ErrorCode::unavailable, "migration " + std::to_string(version) + " failed: " + error.message);
}

// Applies, oldest first, every step newer than `version`. A database newer
// than this build is refused (unavailable), as an older binary cannot know
// what the newer schema promises.
template <class Step, class ApplyOne>
Status apply_newer_steps(std::span<const Step> steps, Result<int> version, std::string_view backend,
                         ApplyOne apply_one) {
  if (!version) return version.error();
  const int newest = steps.back().version;
  if (*version > newest) {
    return make_error(ErrorCode::unavailable, std::string(backend) + ": database schema version " +
                                                  std::to_string(*version) + " is newer than this build supports (" +
                                                  std::to_string(newest) + ")");
  }
  for (const auto& step : steps) {
    if (step.version <= *version) continue;
    if (auto applied = apply_one(step); !applied) return applied;
  }
  return {};
}

}  // namespace ferry
