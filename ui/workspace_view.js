// The views of one workspace, shared by the dashboard and the customer
// portal: a navigation of sections and the view the hash route names.
// A section is {id, label, list(view, ctx, params), item?(view, ctx, id)};
// a new one is one more entry of SECTIONS.
import { el, showError, announce } from './dom.js';
import { currentRoute, href } from './router.js';
import { workspaceContext } from './workspace.js';
import { showEndpointList } from './endpoints.js';
import { showEndpointPage } from './endpoint_page.js';
import { showCatalog } from './catalog.js';
import { showMessageList } from './messages.js';
import { showMessagePage } from './message_page.js';
import { showStatistics } from './statistics.js';

export const SECTIONS = [
  { id: 'endpoints', label: 'Endpoints', list: showEndpointList, item: showEndpointPage },
  { id: 'catalog', label: 'Event catalog', list: showCatalog },
  { id: 'messages', label: 'Messages', list: showMessageList, item: showMessagePage },
  { id: 'statistics', label: 'Statistics', list: showStatistics },
];

// Mounts the workspace's views in root; answers a function that unmounts them.
export function mountWorkspace(root, api, workspace) {
  const ctx = workspaceContext(api, workspace);
  const links = new Map(SECTIONS.map((s) => [s.id, el('a', { href: href(s.id), text: s.label })]));
  const nav = el('nav', { class: 'sections', 'aria-label': 'Sections' },
    el('ul', {}, [...links.values()].map((a) => el('li', {}, a))));
  const view = el('div', { class: 'view' });
  root.replaceChildren(nav, view);
  root.hidden = false;

  let first = true;
  const render = () => {
    const route = currentRoute();
    const section = SECTIONS.find((s) => s.id === route.section);
    if (!section) {
      // Unknown or empty route: the first section, in place of this entry.
      history.replaceState(null, '', `${window.location.pathname}${window.location.search}${href(SECTIONS[0].id)}`);
      render();
      return;
    }
    showError(null);
    announce('');
    for (const [id, a] of links) {
      if (id === section.id) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const page = el('div', { class: 'page', 'data-section': section.id });
    view.replaceChildren(page);
    const shown = route.id && section.item ? section.item(page, ctx, route.id) : section.list(page, ctx, route.params);
    document.title = `${section.label} — ${workspace.name}`;
    // After a navigation (not the first view), move focus to the new heading.
    if (!first) {
      const heading = page.querySelector('h2');
      if (heading) heading.focus();
    }
    first = false;
    return shown;
  };
  window.addEventListener('hashchange', render);
  render();
  return () => {
    window.removeEventListener('hashchange', render);
    root.replaceChildren();
    root.hidden = true;
  };
}
