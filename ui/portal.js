// The customer portal: opened as /ui/portal#token=fpt_… (the fragment never
// reaches a server or a Referer). The token is taken out of the address bar
// at once and kept in this tab's sessionStorage (in memory where a framed
// page is denied storage: see storage.js); the page shows the
// dashboard's workspace views (workspace_view.js), locked to the one
// workspace the token is for (the API refuses any other).
import { Api } from './api.js';
import { load, save } from './storage.js';
import { showError } from './dom.js';
import { mountWorkspace } from './workspace_view.js';

const KEY = 'ferry.portal-token';

function tokenFromFragment() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const token = params.get('token');
  if (token) {
    save(KEY, token);
    history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/endpoints`);
  }
  return load(KEY);
}

// fpt_<hex of "v1\n{workspace}\n{expiry}">_<hex signature>: the workspace is
// readable (the server checks the signature; this only picks the page).
function workspaceOf(token) {
  const match = /^fpt_([0-9a-f]+)_[0-9a-f]+$/.exec(token || '');
  if (!match) return null;
  const bytes = new Uint8Array(match[1].match(/../g).map((h) => parseInt(h, 16)));
  const lines = new TextDecoder().decode(bytes).split('\n');
  return lines.length === 3 && lines[0] === 'v1' ? lines[1] : null;
}

async function main() {
  const token = tokenFromFragment();
  const ws = workspaceOf(token);
  if (!ws) {
    showError(new Error('This page needs a portal link (…/ui/portal#token=fpt_…). Ask for a new link.'));
    return;
  }
  const api = new Api(token);
  try {
    const workspace = await api.get(`/api/v1/workspaces/${encodeURIComponent(ws)}`);
    document.getElementById('who').textContent = workspace.name;
    mountWorkspace(document.getElementById('workspace-view'), api, workspace);
  } catch (error) {
    showError(error);
  }
}

main();
