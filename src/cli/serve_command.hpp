#pragma once

#include "cli/serve_settings.hpp"

namespace ferry {

inline constexpr const char* kFerryVersion = "0.1.0";

// Runs the server until SIGTERM or SIGINT; returns the process exit code.
int run_serve(const ServeSettings& settings);

}  // namespace ferry
