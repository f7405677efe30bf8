// One endpoint: its settings (editable), secret, Send Test Event, and its
// recent deliveries and attempts.
import { el, act, announce, scroller, field } from './dom.js';
import { endpointForm } from './endpoint_form.js';
import { secretPanel } from './secret.js';
import { testEventForEndpoint } from './test_event.js';
import { statusText, statusClass } from './attempt_view.js';
import { Pager, pageQuery } from './pager.js';
import { href, go } from './router.js';
import { confirmAction } from './confirm.js';
import { time, stateBadge, localInputToUtc, utcToLocalInput } from './format.js';
import { stateCell, typesText } from './endpoints.js';
import { fetchStats, totalsList } from './statistics.js';

const RECENT = 20;

function summary(endpoint) {
  const item = (label, name, value) => [el('dt', { text: label }), el('dd', { 'data-field': name }, value)];
  const headers = Object.entries(endpoint.headers || {}).map(([n, v]) => `${n}: ${v}`).join('\n');
  return el('dl', { class: 'facts', id: 'endpoint-summary' },
    item('ID', 'id', el('span', { class: 'mono', text: endpoint.id })),
    item('URL', 'url', el('span', { class: 'mono wrap', text: endpoint.url })),
    item('Description', 'description', endpoint.description || '—'),
    item('State', 'state', stateCell(endpoint)),
    item('Event types', 'types', typesText(endpoint)),
    item('Wire profile', 'profile', endpoint.profile || 'workspace default'),
    item('Custom headers', 'headers', headers ? el('pre', { class: 'inline', text: headers }) : 'none'),
    item('Rate limit', 'rate-limit', endpoint.rate_limit ? `${endpoint.rate_limit} requests per second` : 'none'),
    item('Created', 'created', time(endpoint.created_at)),
    item('Updated', 'updated', time(endpoint.updated_at)));
}

function deliveriesSection(ctx, endpoint) {
  const state = el('select', { id: 'delivery-state' },
    ['', 'pending', 'retrying', 'succeeded', 'failed'].map((s) => el('option', { value: s, text: s || 'any state' })));
  const body = el('tbody');
  const empty = el('p', { class: 'hint', text: 'No deliveries.', hidden: true });
  const table = el('table', { id: 'endpoint-deliveries' },
    el('caption', { class: 'hint', text: 'Recent deliveries, newest first' }),
    el('thead', {}, el('tr', {}, ['Message', 'State', 'Attempts', 'Next attempt', 'Created'].map((h) => el('th', { scope: 'col', text: h })))),
    body);
  const pager = new Pager('deliveries', async (cursor) => {
    const page = await ctx.api.get(`${ctx.endpointPath(endpoint.id)}/deliveries${pageQuery(RECENT, cursor, { state: state.value })}`);
    body.replaceChildren(...page.data.map((d) => el('tr', {},
      el('td', {}, el('a', { class: 'mono', href: href('messages', d.message_id), text: d.message_id })),
      el('td', {}, stateBadge(d.state)),
      el('td', { text: String(d.attempt_count) }),
      el('td', {}, time(d.next_attempt_at)),
      el('td', {}, time(d.created_at)))));
    table.hidden = page.data.length === 0;
    empty.hidden = page.data.length > 0;
    return page;
  });
  state.addEventListener('change', () => act(null, () => pager.first()));
  const section = el('section', { class: 'panel', 'aria-labelledby': 'deliveries-title' },
    el('h3', { id: 'deliveries-title', text: 'Deliveries' }),
    el('div', { class: 'field' }, el('label', { for: 'delivery-state', text: 'Delivery state' }), state),
    scroller(table), empty, pager.element);
  return { section, pager };
}

function attemptsSection(ctx, endpoint) {
  const body = el('tbody');
  const empty = el('p', { class: 'hint', text: 'No attempts yet.', hidden: true });
  const table = el('table', { id: 'endpoint-attempts' },
    el('caption', { class: 'hint', text: 'Recent attempts, newest first (the message page shows each in full)' }),
    el('thead', {}, el('tr', {}, ['Started', 'Message', 'Attempt', 'Status', 'Latency'].map((h) => el('th', { scope: 'col', text: h })))),
    body);
  const pager = new Pager('attempts', async (cursor) => {
    const page = await ctx.api.get(`${ctx.endpointPath(endpoint.id)}/attempts${pageQuery(RECENT, cursor)}`);
    body.replaceChildren(...page.data.map((a) => el('tr', {},
      el('td', {}, time(a.started_at)),
      el('td', {}, el('a', { class: 'mono', href: href('messages', a.message_id), text: a.message_id })),
      el('td', { text: String(a.attempt_number) }),
      el('td', {}, el('span', { class: statusClass(a), text: statusText(a) })),
      el('td', { text: `${a.latency_ms} ms` }))));
    table.hidden = page.data.length === 0;
    empty.hidden = page.data.length > 0;
    return page;
  });
  const section = el('section', { class: 'panel', 'aria-labelledby': 'attempts-title' },
    el('h3', { id: 'attempts-title', text: 'Attempts' }), scroller(table), empty, pager.element);
  return { section, pager };
}

// Success rate and latency over the last 24 hours, and the latest failed
// attempts with their reasons.
function healthSection(ctx, endpoint) {
  const totals = el('div', {}, el('p', { class: 'hint', text: 'Loading…' }));
  const failures = el('tbody');
  const none = el('p', { class: 'hint', text: 'No failed attempts.', hidden: true });
  const table = el('table', { id: 'endpoint-failures' },
    el('caption', { class: 'hint', text: 'Latest failed attempts' }),
    el('thead', {}, el('tr', {}, ['Started', 'Message', 'Status or error', 'Latency'].map((h) => el('th', { scope: 'col', text: h })))),
    failures);
  const refresh = async () => {
    const [stats, failed] = await Promise.all([
      fetchStats(ctx, '24h', endpoint.id),
      ctx.api.get(`${ctx.endpointPath(endpoint.id)}/attempts${pageQuery(5, null, { outcome: 'failed' })}`),
    ]);
    totals.replaceChildren(totalsList(stats.totals, 'endpoint-health'));
    failures.replaceChildren(...failed.data.map((a) => el('tr', {},
      el('td', {}, time(a.started_at)),
      el('td', {}, el('a', { class: 'mono', href: href('messages', a.message_id), text: a.message_id })),
      el('td', {}, el('span', { class: statusClass(a), text: statusText(a) }), a.error_detail ? ` ${a.error_detail}` : null),
      el('td', { text: `${a.latency_ms} ms` }))));
    table.hidden = failed.data.length === 0;
    none.hidden = failed.data.length > 0;
  };
  const section = el('section', { class: 'panel', 'aria-labelledby': 'health-title' },
    el('h3', { id: 'health-title', text: 'Health, last 24 hours' }), totals,
    el('p', {}, el('a', { href: href('statistics', null, { endpoint: endpoint.id }), text: 'Charts for this endpoint' })),
    scroller(table), none);
  return { section, refresh };
}

// Recovery after an outage: every failed delivery of the endpoint whose
// message was created in the window is sent again (POST …/recover, repeated
// while the server says there may be more).
const deliveryCount = (n) => (n === 1 ? '1 delivery' : `${n} deliveries`);

function recoverSection(ctx, current, onRecovered) {
  const since = el('input', { type: 'datetime-local', required: true, value: utcToLocalInput(new Date(Date.now() - 86400e3).toISOString()) });
  const until = el('input', { type: 'datetime-local' });
  const button = el('button', { type: 'submit', text: 'Recover failed deliveries' });
  const outcome = el('p', { id: 'recover-result', 'aria-live': 'polite' });
  const form = el('form', { 'aria-labelledby': 'recover-title' },
    el('div', { class: 'row' },
      field('Since (your local time)', since),
      field('Until (your local time)', until, 'empty: now'),
      el('div', { class: 'buttons' }, button)));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    act(button, async () => {
      const endpoint = current();
      const range = { since: localInputToUtc(since.value) };
      if (until.value) range.until = localInputToUtc(until.value);
      if (!(await confirmAction(`Send every failed delivery to ${endpoint.url} since ${range.since} again?`, 'Recover'))) return;
      let total = 0;
      for (;;) {
        const answer = await ctx.api.post(`${ctx.endpointPath(endpoint.id)}/recover`, range);
        total += answer.recovered;
        range.until = answer.until;
        if (!answer.more) break;
        outcome.textContent = `${deliveryCount(total)} recovered so far…`;
      }
      outcome.textContent = `${deliveryCount(total)} recovered: due again now.`;
      announce(outcome.textContent);
      await onRecovered();
    });
  });
  return el('section', { class: 'panel', 'aria-labelledby': 'recover-title' },
    el('h3', { id: 'recover-title', text: 'Recover failed deliveries' }),
    el('p', { class: 'hint', text: 'After an outage: sends again every failed delivery of this endpoint whose message was created in the window.' }),
    form, outcome);
}

function deleteSection(ctx, current) {
  const remove = el('button', { type: 'button', class: 'danger', text: 'Delete endpoint' });
  remove.addEventListener('click', () => act(remove, async () => {
    const endpoint = current();
    if (!(await confirmAction(`Delete the endpoint ${endpoint.url}? Its open deliveries stop.`, 'Delete'))) return;
    await ctx.api.delete(ctx.endpointPath(endpoint.id));
    // Said once the list is shown (a new view clears the status line).
    window.addEventListener('hashchange', () => setTimeout(() => announce(`${endpoint.url} deleted.`), 0), { once: true });
    go('endpoints');
  }));
  return el('section', { class: 'panel', 'aria-labelledby': 'delete-title' },
    el('h3', { id: 'delete-title', text: 'Delete endpoint' }), remove);
}

export async function showEndpointPage(view, ctx, id) {
  const heading = el('h2', { tabindex: -1, text: 'Endpoint' });
  view.append(el('p', {}, el('a', { href: href('endpoints'), text: '← All endpoints' })), heading);
  await act(null, async () => {
    let endpoint = await ctx.api.get(ctx.endpointPath(id));
    heading.textContent = `Endpoint ${endpoint.url}`;
    const facts = el('div', {}, summary(endpoint));
    const deliveries = deliveriesSection(ctx, endpoint);
    const attempts = attemptsSection(ctx, endpoint);
    const health = healthSection(ctx, endpoint);
    const refreshLogs = () =>
      act(null, () => Promise.all([deliveries.pager.reload(), attempts.pager.reload(), health.refresh()]));
    const test = await testEventForEndpoint(ctx, () => endpoint, refreshLogs);
    const form = await endpointForm(ctx, endpoint, async (saved) => {
      endpoint = saved;
      heading.textContent = `Endpoint ${saved.url}`;
      facts.replaceChildren(summary(saved));
      announce('Endpoint saved.');
    });
    view.append(facts, health.section,
      secretPanel(ctx, () => endpoint),
      el('section', { class: 'panel', 'aria-labelledby': 'test-title' },
        el('h3', { id: 'test-title', text: 'Send test event' }),
        el('p', { class: 'hint', text: "Sends the type's example payload to this endpoint only, marked as a test." }),
        test),
      deliveries.section, attempts.section,
      recoverSection(ctx, () => endpoint, refreshLogs),
      el('section', { class: 'panel', 'aria-labelledby': 'edit-title' },
        el('h3', { id: 'edit-title', text: 'Edit endpoint' }), form),
      deleteSection(ctx, () => endpoint));
    await refreshLogs();
  });
}
