// What every view of one workspace shares: the API, the workspace, and the
// data several views read (its event types, the wire profiles), fetched once.
import { workspacePath } from './api.js';

export function workspaceContext(api, workspace) {
  const base = workspacePath(workspace.id);
  let types = null;
  let profiles = null;
  return {
    api,
    workspace,
    ws: workspace.id,
    base,
    // Every type of the workspace's catalog (or, without one, the types
    // registered on their own), archived ones included.
    eventTypes() {
      if (!types) {
        const catalog = workspace.catalog;
        const query = catalog ? `?catalog=${encodeURIComponent(catalog)}&include_archived=true` : '?include_archived=true';
        types = api.get(`/api/v1/event-types${query}`)
          .then((answer) => answer.data.filter((t) => (catalog ? t.catalog === catalog : t.catalog === null)))
          .catch((error) => { types = null; throw error; });
      }
      return types;
    },
    profiles() {
      if (!profiles) {
        profiles = api.get('/api/v1/profiles').then((answer) => answer.data)
          .catch((error) => { profiles = null; throw error; });
      }
      return profiles;
    },
    endpointPath: (id) => `${base}/endpoints/${encodeURIComponent(id)}`,
    messagePath: (id) => `${base}/messages/${encodeURIComponent(id)}`,
    deliveryPath: (id) => `${base}/deliveries/${encodeURIComponent(id)}`,
  };
}

// Groups event types by their group, in the order first seen.
export function byGroup(types) {
  const groups = new Map();
  for (const type of types) {
    const group = type.group || '(no group)';
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(type);
  }
  return groups;
}
