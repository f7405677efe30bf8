#pragma once

#include "api/router.hpp"

namespace ferry {

struct ApiServices;

// GET /metrics in the Prometheus text format: everything ApiServices::metrics
// counts, and what a scrape reads from elsewhere: the store's open deliveries
// (a bounded count, read at most once a second whatever the scrape rate),
// the process's CPU, memory, file descriptors and start time (/proc), and
// the build. Drops the failure series of endpoints the subscription index no
// longer holds as enabled (deleted or disabled, here or on another node).
RouteHandler metrics_route(const ApiServices& services);

}  // namespace ferry
