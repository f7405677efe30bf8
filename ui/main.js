// The dashboard: sign in with the admin token or a workspace key (kept in
// this tab's sessionStorage, never in the URL), pick a workspace, then the
// workspace's views (workspace_view.js).
import { Api } from './api.js';
import { load, save, forget } from './storage.js';
import { showError } from './dom.js';
import { mountWorkspace } from './workspace_view.js';

const KEY = 'ferry.token';
const WORKSPACE_KEY = 'ferry.workspace';
const signIn = document.getElementById('sign-in');
const form = document.getElementById('sign-in-form');
const tokenInput = document.getElementById('token');
const signOut = document.getElementById('sign-out');
const picker = document.getElementById('workspace-picker');
const select = document.getElementById('workspace');
const views = document.getElementById('workspace-view');
const who = document.getElementById('who');
let unmount = null;

function leaveWorkspace() {
  if (unmount) unmount();
  unmount = null;
}

function signedOut() {
  leaveWorkspace();
  forget(KEY);
  forget(WORKSPACE_KEY);
  signIn.hidden = false;
  picker.hidden = true;
  signOut.hidden = true;
  who.textContent = '';
  tokenInput.value = '';
  tokenInput.focus();
}

async function start(token) {
  const api = new Api(token);
  // Admin: every workspace; a workspace key: its own only.
  const workspaces = [];
  let cursor = null;
  do {
    const page = await api.get(`/api/v1/workspaces?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    workspaces.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  save(KEY, token);
  signIn.hidden = true;
  signOut.hidden = false;
  who.textContent = `Signed in: ${workspaces.length} workspace${workspaces.length === 1 ? '' : 's'}`;
  select.replaceChildren(new Option('Choose a workspace…', ''),
                         ...workspaces.map((w) => new Option(`${w.name} (${w.id})`, w.id)));
  picker.hidden = false;
  leaveWorkspace();
  // byUser: a workspace picked here starts on its endpoints (the route may
  // name another workspace's endpoint or message).
  const choose = (byUser) => {
    showError(null);
    leaveWorkspace();
    const workspace = workspaces.find((w) => w.id === select.value);
    if (!workspace) {
      forget(WORKSPACE_KEY);
      return;
    }
    save(WORKSPACE_KEY, workspace.id);
    if (byUser) history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/endpoints`);
    unmount = mountWorkspace(views, api, workspace);
  };
  select.onchange = () => choose(true);
  // The workspace of this tab before a reload, or the only one.
  const kept = load(WORKSPACE_KEY);
  const initial = workspaces.length === 1 ? workspaces[0] : workspaces.find((w) => w.id === kept);
  if (initial) {
    select.value = initial.id;
    choose(false);
  } else {
    select.focus();
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  showError(null);
  try {
    await start(tokenInput.value.trim());
    tokenInput.value = '';
  } catch (error) {
    forget(KEY);
    showError(error);
  }
});
signOut.addEventListener('click', () => {
  showError(null);
  signedOut();
});

const saved = load(KEY);
if (saved) start(saved).catch((error) => { signedOut(); showError(error); });
