// The endpoints of one workspace: list, create, enable/disable, delete, and
// send a test event, showing the attempt it produced.
import { workspacePath } from './api.js';
import { el, showError } from './dom.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function showEndpoints(root, api, ws) {
  const base = `${workspacePath(ws)}/endpoints`;
  root.replaceChildren();
  root.hidden = false;

  const urlInput = el('input', { id: 'endpoint-url', type: 'url', required: true, placeholder: 'https://example.com/webhooks' });
  const typesInput = el('input', { id: 'endpoint-types', type: 'text', placeholder: 'order.*, invoice.paid' });
  const createForm = el('form', { id: 'create-endpoint', 'aria-labelledby': 'create-title' },
    el('h3', { id: 'create-title', text: 'Add an endpoint' }),
    el('div', { class: 'row' },
      el('div', {}, el('label', { for: 'endpoint-url', text: 'URL' }), urlInput),
      el('div', {}, el('label', { for: 'endpoint-types', text: 'Event types (comma-separated; empty for all)' }), typesInput)),
    el('button', { type: 'submit', text: 'Create endpoint' }));

  const typeSelect = el('select', { id: 'test-type' });
  const testControls = el('div', {},
    el('label', { for: 'test-type', text: 'Event type for test events' }), typeSelect);
  const result = el('section', { id: 'test-result', class: 'result', 'aria-live': 'polite', hidden: true });
  const body = el('tbody');
  const table = el('table', { id: 'endpoint-table' },
    el('caption', { class: 'hint', text: `Endpoints of workspace ${ws}` }),
    el('thead', {}, el('tr', {}, ...['URL', 'State', 'Event types', 'Profile', 'Actions'].map((h) => el('th', { scope: 'col', text: h })))),
    body);
  const empty = el('p', { id: 'no-endpoints', class: 'hint', text: 'No endpoints yet.', hidden: true });

  root.append(el('h2', { text: `Endpoints — ${ws}` }), createForm, testControls, table, empty, result);

  async function refresh() {
    const page = await api.get(`${base}?limit=100`);
    body.replaceChildren(...page.data.map(row));
    empty.hidden = page.data.length > 0;
    table.hidden = page.data.length === 0;
  }

  // Runs an action, showing its error (the API's message) as text.
  async function act(button, action) {
    showError(null);
    if (button) button.disabled = true;
    try {
      await action();
    } catch (error) {
      showError(error);
    } finally {
      if (button) button.disabled = false;
    }
  }

  function row(endpoint) {
    const types = endpoint.filter_types && endpoint.filter_types.length ? endpoint.filter_types.join(', ') : 'all';
    const toggle = el('button', {
      type: 'button', class: 'secondary', text: endpoint.enabled ? 'Disable' : 'Enable',
      'aria-label': `${endpoint.enabled ? 'Disable' : 'Enable'} ${endpoint.url}`,
    });
    toggle.addEventListener('click', () => act(toggle, async () => {
      await api.patch(`${base}/${encodeURIComponent(endpoint.id)}`, { enabled: !endpoint.enabled });
      await refresh();
    }));
    const test = el('button', { type: 'button', text: 'Send test event', 'aria-label': `Send test event to ${endpoint.url}` });
    test.addEventListener('click', () => act(test, () => sendTest(endpoint)));
    const remove = el('button', { type: 'button', class: 'danger', text: 'Delete', 'aria-label': `Delete ${endpoint.url}` });
    remove.addEventListener('click', () => act(remove, async () => {
      if (!window.confirm(`Delete the endpoint ${endpoint.url}?`)) return;
      await api.delete(`${base}/${encodeURIComponent(endpoint.id)}`);
      await refresh();
    }));
    return el('tr', { 'data-endpoint': endpoint.id },
      el('td', { class: 'url', text: endpoint.url }),
      el('td', { class: endpoint.enabled ? 'state-enabled' : 'state-disabled',
                 text: endpoint.enabled ? 'Enabled' : `Disabled${endpoint.disabled_reason ? ` (${endpoint.disabled_reason})` : ''}` }),
      el('td', { text: types }),
      el('td', { text: endpoint.profile || 'workspace default' }),
      el('td', { class: 'actions' }, toggle, test, remove));
  }

  async function sendTest(endpoint) {
    if (!typeSelect.value) throw new Error('There is no event type to send: register one first.');
    result.hidden = false;
    result.replaceChildren(el('p', { text: `Sending a ${typeSelect.value} test event to ${endpoint.url}…` }));
    // 202 {"message": the message, "delivery": its delivery to this endpoint}
    const sent = await api.post(`${base}/${encodeURIComponent(endpoint.id)}/test`, { type: typeSelect.value });
    const messageId = sent.message.id;
    const attemptsPath = `${workspacePath(ws)}/messages/${encodeURIComponent(messageId)}/attempts`;
    const deadline = Date.now() + 30000;
    for (;;) {
      const attempts = (await api.get(attemptsPath)).data;
      if (attempts.length > 0) {
        showAttempt(messageId, attempts[attempts.length - 1]);
        return;
      }
      if (Date.now() > deadline) {
        result.replaceChildren(el('p', { text: `Message ${messageId}: no attempt yet after 30 s.` }));
        return;
      }
      await sleep(500);
    }
  }

  function showAttempt(messageId, attempt) {
    const status = attempt.response_status ? String(attempt.response_status) : `no response (${attempt.error || 'error'})`;
    result.replaceChildren(
      el('h3', { text: 'Test event attempt' }),
      el('dl', {},
        el('dt', { text: 'Message' }), el('dd', { text: messageId }),
        el('dt', { text: 'Status' }), el('dd', { id: 'attempt-status', text: status }),
        el('dt', { text: 'Latency' }), el('dd', { id: 'attempt-latency', text: `${attempt.latency_ms} ms` }),
        attempt.error_detail ? [el('dt', { text: 'Error' }), el('dd', { text: attempt.error_detail })] : null,
        el('dt', { text: 'Response body' }), el('dd', {}, el('pre', { id: 'attempt-body', text: attempt.response_body || '(empty)' }))));
  }

  createForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const submit = createForm.querySelector('button[type=submit]');
    act(submit, async () => {
      const filter = typesInput.value.split(',').map((t) => t.trim()).filter((t) => t);
      const fields = { url: urlInput.value.trim() };
      if (filter.length) fields.filter_types = filter;
      await api.post(base, fields);
      urlInput.value = '';
      typesInput.value = '';
      await refresh();
    });
  });

  await act(null, async () => {
    const types = await api.get('/api/v1/event-types');
    typeSelect.replaceChildren(...types.data.filter((t) => !t.archived).map((t) => el('option', { value: t.name, text: t.name })));
  });
  await act(null, refresh);
}
