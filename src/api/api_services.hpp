#pragma once

#include <functional>
#include <string>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/subscription_index.hpp"
#include "delivery/target_policy.hpp"
#include "ingest/ingestor.hpp"
#include "store/store.hpp"

namespace ferry {

// What route handlers work with. Owned by the caller (cli/serve), which
// keeps every part alive longer than the API.
struct ApiServices {
  Store& store;
  Ingestor& ingestor;
  SubscriptionIndex& subscriptions;
  Metrics& metrics;
  const Clock& clock;
  const TargetPolicy& targets;
  std::function<void()> wake_deliveries;  // work may be due now
  std::string admin_token;
  std::string version;

  // Reloads the workspace's endpoints into the subscription index; call after
  // any change to them.
  Status refresh_subscriptions(const std::string& workspace_id) const;
};

class Router;
void add_system_routes(Router& router, const ApiServices& services);
void add_workspace_routes(Router& router, const ApiServices& services);
void add_endpoint_routes(Router& router, const ApiServices& services);
void add_message_routes(Router& router, const ApiServices& services);
void add_delivery_routes(Router& router, const ApiServices& services);
void add_event_type_routes(Router& router, const ApiServices& services);

}  // namespace ferry
