// The workspace's event catalog: types by group, each with its description,
// flags, JSON schema and example payload, a search by name, and "send to
// endpoint…" (Send Test Event from the type's side).
import { el, act, announce, uid } from './dom.js';
import { byGroup } from './workspace.js';
import { testEventForType } from './test_event.js';
import { pretty, badge, plural } from './format.js';

function flagBadges(type) {
  const out = [];
  for (const flag of type.flags || []) {
    if (flag === 'PASSIVE') out.push(badge('PASSIVE', 'passive'));
    else if (flag === 'deprecated') out.push(badge('deprecated', 'deprecated'));
    else out.push(badge(flag, 'flag'));
  }
  if (type.archived) out.push(badge('archived', 'archived'));
  return out;
}

function typeArticle(ctx, type) {
  const titleId = uid('type');
  const send = el('details', { class: 'send' }, el('summary', { text: 'Send to endpoint…' }));
  send.addEventListener('toggle', () => {
    if (!send.open || send.dataset.loaded) return;
    send.dataset.loaded = 'yes';
    act(null, async () => send.append(await testEventForType(ctx, type)));
  }, { once: false });
  const example = type.examples && type.examples.length ? type.examples[0] : undefined;
  return el('article', { class: 'event-type', 'data-type': type.name, 'aria-labelledby': titleId },
    el('h4', { id: titleId }, el('span', { class: 'mono', text: type.name }), ' ', flagBadges(type)),
    el('p', { text: type.description || 'No description.' }),
    el('details', {}, el('summary', { text: 'JSON schema' }),
      el('pre', { class: 'json', 'data-field': 'schema', text: type.schema === null ? 'none: any payload' : pretty(type.schema) })),
    el('details', {}, el('summary', { text: 'Example payload' }),
      el('pre', { class: 'json', 'data-field': 'example', text: example === undefined ? 'none' : pretty(example) })),
    type.archived ? el('p', { class: 'hint', text: 'Archived: kept for old messages, refused for new ones.' }) : send);
}

export async function showCatalog(view, ctx) {
  const name = ctx.workspace.catalog;
  const heading = el('h2', { tabindex: -1, text: name ? `Event catalog — ${name}` : 'Event catalog' });
  const about = el('p', { class: 'hint', text: name ? '' : 'This workspace has no catalog: these are the types registered on their own.' });
  const search = el('input', { type: 'search', id: 'catalog-search', autocomplete: 'off', placeholder: 'e.g. contact' });
  const count = el('p', { class: 'hint', id: 'catalog-count', 'aria-live': 'polite' });
  const groupsBox = el('div', { class: 'groups' });
  const expand = el('button', { type: 'button', class: 'secondary', text: 'Expand all groups' });
  const collapse = el('button', { type: 'button', class: 'secondary', text: 'Collapse all groups' });
  view.append(heading, about,
    el('div', { class: 'row' },
      el('div', { class: 'field' }, el('label', { for: 'catalog-search', text: 'Search event types by name' }), search),
      el('div', { class: 'buttons' }, expand, collapse)),
    count, groupsBox);

  await act(null, async () => {
    if (name) {
      const catalog = await ctx.api.get(`/api/v1/catalogs/${encodeURIComponent(name)}`);
      about.textContent = [catalog.title, catalog.description].filter(Boolean).join(': ');
    }
    const types = await ctx.eventTypes();
    // Folded when there are many, so the groups read as a list first.
    const open = types.length <= 8;
    const groups = [...byGroup(types)].map(([group, members]) => el('details', { class: 'group', open, 'data-group': group },
      el('summary', {}, el('span', { class: 'group-name', text: group }), ' ',
        el('span', { class: 'hint', text: `(${plural(members.length, 'type')})` })),
      members.map((type) => typeArticle(ctx, type))));
    groupsBox.replaceChildren(...groups);
    const filter = () => {
      const query = search.value.trim().toLowerCase();
      let shown = 0;
      for (const group of groups) {
        let inGroup = 0;
        for (const article of group.querySelectorAll('article.event-type')) {
          const match = !query || article.dataset.type.toLowerCase().includes(query);
          article.hidden = !match;
          if (match) inGroup += 1;
        }
        group.hidden = inGroup === 0;
        if (query && inGroup) group.open = true;
        shown += inGroup;
      }
      count.textContent = query ? `${plural(shown, 'type')} match “${search.value.trim()}”.` : `${plural(types.length, 'type')} in ${plural(groups.length, 'group')}.`;
    };
    search.addEventListener('input', filter);
    const setAll = (opened) => { for (const group of groups) group.open = opened; };
    expand.addEventListener('click', () => setAll(true));
    collapse.addEventListener('click', () => setAll(false));
    filter();
    if (types.length === 0) announce('The catalog lists no event type.');
  });
}
