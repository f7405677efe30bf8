// The message log: newest first, filtered by event type, delivery status,
// endpoint and time range (kept in the route's query, so a reload or Back
// keeps them), paged.
import { el, act, announce, field, scroller } from './dom.js';
import { Pager, pageQuery } from './pager.js';
import { href, go } from './router.js';
import { time, badge, localInputToUtc, utcToLocalInput, plural } from './format.js';
import { endpointChoices, appendEndpointOptions } from './endpoint_choices.js';

const PAGE_SIZE = 50;

export async function showMessageList(view, ctx, params) {
  const filters = {};
  for (const name of ['type', 'status', 'endpoint', 'since', 'until']) filters[name] = params.get(name) || '';
  const heading = el('h2', { tabindex: -1, text: 'Messages' });
  const type = el('input', { type: 'text', list: 'message-types', value: filters.type, autocomplete: 'off', placeholder: 'any type' });
  const known = el('datalist', { id: 'message-types' });
  // "Has a delivery in that state": a message failed at one endpoint and
  // delivered to another is both (docs/api.md).
  const status = el('select', {}, [['', 'any status'], ['pending', 'a delivery pending or retrying'], ['succeeded', 'a delivery succeeded'], ['failed', 'a delivery failed']]
    .map(([value, text]) => el('option', { value, text, selected: value === filters.status })));
  const endpoint = el('select', {}, el('option', { value: '', text: 'any endpoint' }));
  const since = el('input', { type: 'datetime-local', value: utcToLocalInput(filters.since) });
  const until = el('input', { type: 'datetime-local', value: utcToLocalInput(filters.until) });
  const apply = el('button', { type: 'submit', text: 'Apply filters' });
  const clear = el('button', { type: 'button', class: 'secondary', text: 'Clear filters' });
  const form = el('form', { class: 'filters', 'aria-label': 'Message filters' },
    el('div', { class: 'row' },
      field('Event type', type), known,
      field('Delivery status', status),
      field('Endpoint', endpoint),
      field('Since (your local time)', since),
      field('Until (your local time)', until),
      el('div', { class: 'buttons' }, apply, clear)));
  const body = el('tbody');
  const empty = el('p', { class: 'hint', id: 'no-messages', text: 'No messages match.', hidden: true });
  const table = el('table', { id: 'message-table' },
    el('caption', { class: 'hint', text: 'Messages, newest first' }),
    el('thead', {}, el('tr', {}, ['Created', 'Type', 'Message'].map((h) => el('th', { scope: 'col', text: h })))),
    body);
  const pager = new Pager('messages', async (cursor) => {
    const page = await ctx.api.get(`${ctx.base}/messages${pageQuery(PAGE_SIZE, cursor, filters)}`);
    body.replaceChildren(...page.data.map((m) => el('tr', { 'data-message': m.id },
      el('td', {}, time(m.created_at)),
      el('td', {}, el('span', { class: 'mono', text: m.type }), m.test ? [' ', badge('test', 'test')] : null,
        m.passive ? [' ', badge('PASSIVE', 'passive')] : null),
      el('td', {}, el('a', { class: 'mono', href: href('messages', m.id), text: m.id })))));
    table.hidden = page.data.length === 0;
    empty.hidden = page.data.length > 0;
    announce(page.data.length ? `${plural(page.data.length, 'message')} shown.` : 'No messages match.');
    return page;
  });
  view.append(heading, form, scroller(table), empty, pager.element);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = {
      type: type.value.trim(), status: status.value, endpoint: endpoint.value,
      since: localInputToUtc(since.value), until: localInputToUtc(until.value),
    };
    for (const key of Object.keys(next)) if (!next[key]) delete next[key];
    // The same filters again: a refresh (the route does not change).
    if (href('messages', null, next) === window.location.hash) act(apply, () => pager.first());
    else go('messages', null, next);
  });
  clear.addEventListener('click', () => go('messages'));

  endpointChoices(ctx, filters.endpoint).then((choices) => appendEndpointOptions(endpoint, choices, filters.endpoint))
    .catch(() => {});
  ctx.eventTypes().then((types) => {
    known.replaceChildren(...types.map((t) => el('option', { value: t.name })));
  }).catch(() => {});
  await act(null, () => pager.reload());
}
