#pragma once

#include <functional>
#include <string>

#include "catalog/catalog_registry.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/subscription_index.hpp"
#include "core/wire_profile.hpp"
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
  CatalogRegistry& catalogs;
  const WireProfiles& profiles;
  Metrics& metrics;
  const Clock& clock;
  const TargetPolicy& targets;
  std::function<void()> wake_deliveries;  // work may be due now
  // An endpoint (or, with an empty id, any of the workspace's) changed or
  // went away: deliveries already on their way must go out as it is now.
  std::function<void(const std::string& workspace_id, const std::string& endpoint_id)> endpoints_changed;
  std::string admin_token;
  std::string portal_key;  // portal_signing_key(admin_token), derived once
  std::string version;

  // After a change to one endpoint, before answering, so a publish after
  // the answer sees it: brings that endpoint's entry in the index in step
  // with the store at the cost of one read, whatever the workspace's size,
  // and tells endpoints_changed.
  Status refresh_endpoint(const std::string& workspace_id, const std::string& endpoint_id) const;
  // Likewise after a change to the workspace's settings.
  Status refresh_workspace_settings(const std::string& workspace_id) const;
  // The workspace's settings as publishes see them: from the index, or
  // from the store for a workspace the index has not seen yet.
  Result<Workspace> workspace_settings(const std::string& workspace_id) const;
};

class Router;
void add_system_routes(Router& router, const ApiServices& services);
void add_workspace_routes(Router& router, const ApiServices& services);
void add_endpoint_routes(Router& router, const ApiServices& services);
void add_message_routes(Router& router, const ApiServices& services);
void add_delivery_routes(Router& router, const ApiServices& services);
void add_event_type_routes(Router& router, const ApiServices& services);
void add_catalog_routes(Router& router, const ApiServices& services);
void add_stats_routes(Router& router, const ApiServices& services);

}  // namespace ferry
