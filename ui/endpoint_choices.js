// The endpoints a picker offers (message log, statistics, Send to endpoint):
// every endpoint of the workspace, the list route's pages of 1000 followed to
// the end. A workspace past MAX_CHOICES is offered its first MAX_CHOICES and
// `complete` is false, so the picker can say so; an id named by the route is
// offered all the same.
import { el } from './dom.js';
import { pageQuery } from './pager.js';

const PAGE = 1000;
const MAX_CHOICES = 10000;

export async function endpointChoices(ctx, keepId = '') {
  const endpoints = [];
  let cursor = null;
  do {
    const page = await ctx.api.get(`${ctx.base}/endpoints${pageQuery(PAGE, cursor)}`);
    endpoints.push(...page.data);
    cursor = page.next_cursor || null;
  } while (cursor && endpoints.length < MAX_CHOICES);
  if (keepId && !endpoints.some((e) => e.id === keepId)) endpoints.push({ id: keepId, url: keepId });
  return { endpoints, complete: cursor === null };
}

// An endpoint's text in a picker: its URL, and its description when it has one
// (several endpoints may share a URL).
export function endpointLabel(endpoint) {
  return endpoint.description ? `${endpoint.url} (${endpoint.description})` : endpoint.url;
}

export function endpointOptions(endpoints, selectedId = '') {
  return endpoints.map((e) => el('option', { value: e.id, text: endpointLabel(e), selected: e.id === selectedId }));
}

// Appends the choices to a filter's select; a workspace past MAX_CHOICES says so.
export function appendEndpointOptions(select, { endpoints, complete }, selectedId = '') {
  select.append(...endpointOptions(endpoints, selectedId));
  if (!complete) select.title = `The first ${MAX_CHOICES} endpoints`;
}
