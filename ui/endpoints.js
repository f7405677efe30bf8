// The endpoint list of one workspace: paged 100 at a time, with the form to
// add one and each row's Enable/Disable and Delete.
import { el, act, announce, scroller } from './dom.js';
import { confirmAction } from './confirm.js';
import { endpointForm } from './endpoint_form.js';
import { Pager, pageQuery } from './pager.js';
import { href } from './router.js';
import { plural } from './format.js';

const PAGE_SIZE = 100;

export const typesText = (endpoint) => (endpoint.filter_types && endpoint.filter_types.length ? endpoint.filter_types.join(', ') : 'all');

export const stateCell = (endpoint) => el('span', {
  class: endpoint.enabled ? 'state-enabled' : 'state-disabled',
  text: endpoint.enabled ? 'Enabled' : `Disabled${endpoint.disabled_reason ? ` (${endpoint.disabled_reason})` : ''}`,
});

export async function showEndpointList(view, ctx) {
  const heading = el('h2', { tabindex: -1, text: `Endpoints — ${ctx.ws}` });
  const body = el('tbody');
  const table = el('table', { id: 'endpoint-table' },
    el('caption', { class: 'hint', text: `Endpoints of workspace ${ctx.ws}` }),
    el('thead', {}, el('tr', {}, ['URL', 'Description', 'State', 'Event types', 'Profile', 'Actions'].map((h) => el('th', { scope: 'col', text: h })))),
    body);
  const empty = el('p', { id: 'no-endpoints', class: 'hint', text: 'No endpoints yet.', hidden: true });
  const pager = new Pager('endpoints', async (cursor) => {
    const page = await ctx.api.get(`${ctx.base}/endpoints${pageQuery(PAGE_SIZE, cursor)}`);
    body.replaceChildren(...page.data.map(row));
    empty.hidden = page.data.length > 0;
    table.hidden = page.data.length === 0;
    return page;
  });
  const create = el('details', { class: 'panel', id: 'create-endpoint' },
    el('summary', { text: 'Add an endpoint' }));
  view.append(heading, create, scroller(table), empty, pager.element);

  function row(endpoint) {
    const name = endpoint.url;
    const toggle = el('button', {
      type: 'button', class: 'secondary', text: endpoint.enabled ? 'Disable' : 'Enable',
      'aria-label': `${endpoint.enabled ? 'Disable' : 'Enable'} ${name}`,
    });
    toggle.addEventListener('click', () => act(toggle, async () => {
      await ctx.api.patch(ctx.endpointPath(endpoint.id), { enabled: !endpoint.enabled });
      announce(`${name} ${endpoint.enabled ? 'disabled' : 'enabled'}.`);
      await pager.reload();
    }));
    const remove = el('button', { type: 'button', class: 'danger', text: 'Delete', 'aria-label': `Delete ${name}` });
    remove.addEventListener('click', () => act(remove, async () => {
      if (!(await confirmAction(`Delete the endpoint ${name}?`, 'Delete'))) return;
      await ctx.api.delete(ctx.endpointPath(endpoint.id));
      announce(`${name} deleted.`);
      await pager.reload();
      heading.focus();
    }));
    return el('tr', { 'data-endpoint': endpoint.id },
      el('td', { class: 'url' }, el('a', { href: href('endpoints', endpoint.id), text: name })),
      el('td', { text: endpoint.description || '' }),
      el('td', {}, stateCell(endpoint)),
      el('td', { text: typesText(endpoint) }),
      el('td', { text: endpoint.profile || 'workspace default' }),
      el('td', {}, el('div', { class: 'actions' }, toggle, remove)));
  }

  await act(null, async () => {
    const page = await pager.reload();
    create.open = page.data.length === 0;
    create.append(await endpointForm(ctx, null, async (created) => {
      announce(`Endpoint ${created.url} created.`);
      await pager.reload();
    }));
    if (page.next_cursor) announce(`More than ${plural(PAGE_SIZE, 'endpoint')}: use Next page.`);
  });
}
