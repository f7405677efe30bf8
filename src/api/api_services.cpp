#include "api/api_services.hpp"

#include "ingest/subscription_sync.hpp"

namespace ferry {

Result<Workspace> ApiServices::workspace_settings(const std::string& workspace_id) const {
  if (auto known = subscriptions.workspace(workspace_id)) return known->workspace();
  return store.get_workspace(workspace_id);
}

Status ApiServices::refresh_endpoint(const std::string& workspace_id, const std::string& endpoint_id) const {
  if (endpoints_changed) endpoints_changed(workspace_id, endpoint_id);
  return refresh_endpoint_subscription(store, subscriptions, workspace_id, endpoint_id);
}

Status ApiServices::refresh_workspace_settings(const std::string& workspace_id) const {
  return ferry::refresh_workspace_settings(store, subscriptions, workspace_id);
}

}  // namespace ferry
