// Statistics of a workspace (or one endpoint) over a window: totals, and
// volume, success rate and latency percentiles over time as charts, from
// GET …/stats (a per-minute rollup of attempts; see docs/api.md).
import { el, act, announce, field } from './dom.js';
import { go, href } from './router.js';
import { timeChart } from './charts.js';
import { plural } from './format.js';
import { endpointChoices, appendEndpointOptions } from './endpoint_choices.js';

export const WINDOWS = [
  { id: '1h', label: 'Last hour', ms: 3600e3 },
  { id: '24h', label: 'Last 24 hours', ms: 86400e3 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86400e3 },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86400e3 },
];

export const percent = (rate) => (rate === null || rate === undefined ? '–' : `${(rate * 100).toFixed(rate === 1 ? 0 : 1)} %`);
export const millis = (ms) => (ms === null || ms === undefined ? '–' : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`);

// The statistics of the window ending now; `endpointId` narrows them to one endpoint.
export function fetchStats(ctx, windowId, endpointId) {
  const span = (WINDOWS.find((w) => w.id === windowId) || WINDOWS[1]).ms;
  const until = new Date();
  const since = new Date(until.getTime() - span);
  const query = new URLSearchParams({ since: since.toISOString(), until: until.toISOString() });
  const path = endpointId ? `${ctx.endpointPath(endpointId)}/stats` : `${ctx.base}/stats`;
  return ctx.api.get(`${path}?${query}`);
}

// Totals as a definition list; `messages` is null for one endpoint.
export function totalsList(totals, id) {
  const item = (label, name, value) => [el('dt', { text: label }), el('dd', { 'data-field': name, text: value })];
  return el('dl', { class: 'facts', id },
    totals.messages === null ? null : item('Messages published', 'messages', String(totals.messages)),
    item('Attempts', 'attempts', String(totals.attempts)),
    item('Succeeded', 'succeeded', String(totals.succeeded)),
    item('Failed', 'failed', String(totals.failed)),
    item('Success rate', 'success-rate', percent(totals.success_rate)),
    item('Latency p50 / p90 / p99', 'latency',
      `${millis(totals.latency_ms.p50)} / ${millis(totals.latency_ms.p90)} / ${millis(totals.latency_ms.p99)}`));
}

function charts(stats) {
  const times = stats.buckets.map((b) => Date.parse(b.start));
  const bucketMs = stats.bucket_seconds * 1000;
  const column = (pick) => stats.buckets.map(pick);
  const figures = [
    timeChart({
      title: 'Attempts by outcome', times, bucketMs, kind: 'bars',
      series: [
        { name: 'succeeded', className: 'series-ok', values: column((b) => b.succeeded) },
        { name: 'failed', className: 'series-failed', values: column((b) => b.failed) },
      ],
    }),
    timeChart({
      title: 'Success rate', times, bucketMs, format: percent, yMax: 1,
      series: [{ name: 'success rate', className: 'series-ok', values: column((b) => b.success_rate) }],
    }),
    timeChart({
      title: 'Attempt latency', times, bucketMs, format: millis,
      series: ['p50', 'p90', 'p99'].map((p) => ({ name: p, className: `series-${p}`, values: column((b) => b.latency_ms[p]) })),
    }),
  ];
  if (stats.endpoint_id === null) {
    figures.unshift(timeChart({
      title: 'Messages published', times, bucketMs, kind: 'bars',
      series: [{ name: 'messages', className: 'series-volume', values: column((b) => b.messages) }],
    }));
  }
  return figures;
}

export async function showStatistics(view, ctx, params) {
  const chosen = { window: params.get('window') || '24h', endpoint: params.get('endpoint') || '' };
  const heading = el('h2', { tabindex: -1, text: 'Statistics' });
  const windowSelect = el('select', {}, WINDOWS.map((w) => el('option', { value: w.id, text: w.label, selected: w.id === chosen.window })));
  const endpointSelect = el('select', {}, el('option', { value: '', text: 'All endpoints' }));
  const apply = el('button', { type: 'submit', text: 'Show' });
  const form = el('form', { class: 'filters', 'aria-label': 'Statistics window' },
    el('div', { class: 'row' }, field('Window', windowSelect), field('Endpoint', endpointSelect), el('div', { class: 'buttons' }, apply)));
  const out = el('div', { id: 'statistics', 'aria-live': 'polite' });
  view.append(heading,
    el('p', { class: 'hint', text: 'Counted per attempt (a retried delivery counts each try), by the minute the attempt started; percentiles are estimated from a latency histogram.' }),
    form, out);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = { window: windowSelect.value };
    if (endpointSelect.value) next.endpoint = endpointSelect.value;
    if (href('statistics', null, next) === window.location.hash) act(apply, () => render());
    else go('statistics', null, next);
  });

  const render = async () => {
    const stats = await fetchStats(ctx, chosen.window, chosen.endpoint);
    const span = `${stats.since} to ${stats.until}, in buckets of ${plural(stats.bucket_seconds / 60, 'minute')}`;
    out.replaceChildren(el('p', { class: 'hint', text: span }), totalsList(stats.totals, 'stats-totals'), ...charts(stats));
    // Which statistics are shown, for whoever waits for a change (tests).
    out.dataset.endpoint = stats.endpoint_id || 'all';
    announce(`Statistics shown: ${plural(stats.totals.attempts, 'attempt')}.`);
  };
  await act(null, async () => {
    appendEndpointOptions(endpointSelect, await endpointChoices(ctx, chosen.endpoint), chosen.endpoint);
    await render();
  });
}
