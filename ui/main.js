// The dashboard: sign in with the admin token or a workspace key (kept in
// this tab's sessionStorage, never in the URL), pick a workspace, manage its
// endpoints.
import { Api } from './api.js';
import { showError } from './dom.js';
import { showEndpoints } from './endpoints.js';

const KEY = 'ferry.token';
const signIn = document.getElementById('sign-in');
const form = document.getElementById('sign-in-form');
const tokenInput = document.getElementById('token');
const signOut = document.getElementById('sign-out');
const picker = document.getElementById('workspace-picker');
const select = document.getElementById('workspace');
const endpoints = document.getElementById('endpoints');
const who = document.getElementById('who');

function signedOut() {
  sessionStorage.removeItem(KEY);
  signIn.hidden = false;
  picker.hidden = true;
  endpoints.hidden = true;
  endpoints.replaceChildren();
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
  sessionStorage.setItem(KEY, token);
  signIn.hidden = true;
  signOut.hidden = false;
  who.textContent = `Signed in: ${workspaces.length} workspace${workspaces.length === 1 ? '' : 's'}`;
  select.replaceChildren(new Option('Choose a workspace…', ''),
                         ...workspaces.map((w) => new Option(`${w.name} (${w.id})`, w.id)));
  picker.hidden = false;
  endpoints.hidden = true;
  select.onchange = () => {
    showError(null);
    if (select.value) showEndpoints(endpoints, api, select.value);
    else endpoints.hidden = true;
  };
  if (workspaces.length === 1) {
    select.value = workspaces[0].id;
    select.onchange();
  }
  select.focus();
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  showError(null);
  try {
    await start(tokenInput.value.trim());
    tokenInput.value = '';
  } catch (error) {
    sessionStorage.removeItem(KEY);
    showError(error);
  }
});
signOut.addEventListener('click', () => {
  showError(null);
  signedOut();
});

const saved = sessionStorage.getItem(KEY);
if (saved) start(saved).catch((error) => { signedOut(); showError(error); });
