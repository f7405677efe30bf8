// Time-series charts as SVG, drawn from data without any library: the
// dashboard ships no third-party code and loads nothing from elsewhere.
// Every chart is an <figure> with a caption, an SVG marked role="img" whose
// label sums the data up, and the same numbers as a table for screen readers
// and copying. Colours come from classes (app.css): the CSP allows no inline
// style.
import { el } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 720;
const HEIGHT = 220;
const MARGIN = { top: 12, right: 16, bottom: 28, left: 56 };

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// About `count` round steps between 0 and `max` (1, 2 or 5 times a power of ten).
export function niceTicks(max, count = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let v = 0; v <= max + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

function timeLabel(ms, spanMs) {
  const d = new Date(ms);
  const hhmm = d.toISOString().slice(11, 16);
  return spanMs > 2 * 86400000 ? `${d.toISOString().slice(5, 10)} ${hhmm}` : hhmm;
}

// series: [{ name, className, values: [number|null per time] }]; times: ms
// since the epoch, one per bucket. kind 'bars' stacks the series as columns,
// 'lines' draws each as a line (null leaves a gap). format(v) writes a value.
// yMax fixes the top of the scale (1 for a rate), else it fits the data.
export function timeChart({ title, times, series, kind = 'lines', format = String, bucketMs = 60000, yMax = null }) {
  const inner = { w: WIDTH - MARGIN.left - MARGIN.right, h: HEIGHT - MARGIN.top - MARGIN.bottom };
  const start = times.length ? times[0] : 0;
  const span = Math.max(bucketMs, (times.length ? times[times.length - 1] : 0) + bucketMs - start);
  const x = (t) => MARGIN.left + ((t - start) / span) * inner.w;
  const stacked = times.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const peak = kind === 'bars' ? Math.max(0, ...stacked) : Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
  const ticks = niceTicks(yMax ?? peak);
  const top = ticks[ticks.length - 1];
  const y = (v) => MARGIN.top + inner.h - (v / top) * inner.h;

  const grid = ticks.map((v) =>
    svg('g', { class: 'tick' },
      svg('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(v), y2: y(v) }),
      svg('text', { x: MARGIN.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v))));
  const labelEvery = Math.max(1, Math.ceil(times.length / 6));
  const xLabels = times
    .map((t, i) => (i % labelEvery === 0 ? svg('text', { class: 'tick', x: x(t), y: HEIGHT - 8, 'text-anchor': 'start' }, timeLabel(t, span)) : null));

  const marks = [];
  if (kind === 'bars') {
    const width = Math.max(1, (bucketMs / span) * inner.w - 1);
    times.forEach((t, i) => {
      let base = 0;
      for (const s of series) {
        const v = s.values[i] ?? 0;
        if (v > 0) marks.push(svg('rect', { class: s.className, x: x(t), y: y(base + v), width, height: y(base) - y(base + v) }));
        base += v;
      }
    });
  } else {
    for (const s of series) {
      let path = '';
      let pen = false;
      times.forEach((t, i) => {
        const v = s.values[i];
        if (v === null || v === undefined) { pen = false; return; }
        path += `${pen ? 'L' : 'M'}${x(t + bucketMs / 2).toFixed(1)},${y(v).toFixed(1)}`;
        pen = true;
      });
      if (path) marks.push(svg('path', { class: `line ${s.className}`, d: path }));
      // A value with no neighbour makes no line: a dot shows it.
      times.forEach((t, i) => {
        const known = (j) => s.values[j] !== null && s.values[j] !== undefined;
        if (known(i) && !known(i - 1) && !known(i + 1)) {
          marks.push(svg('circle', { class: s.className, cx: x(t + bucketMs / 2), cy: y(s.values[i]), r: 3 }));
        }
      });
    }
  }

  const summary = series.map((s) => {
    const known = s.values.filter((v) => v !== null && v !== undefined);
    return known.length ? `${s.name} from ${format(Math.min(...known))} to ${format(Math.max(...known))}` : `${s.name}: no data`;
  });
  const label = `${title}: ${times.length} buckets; ${summary.join('; ')}`;
  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': label, class: 'chart' },
    grid, xLabels, marks);

  const legend = el('ul', { class: 'legend' },
    series.map((s) => el('li', {}, el('span', { class: `swatch ${s.className}`, 'aria-hidden': 'true' }), s.name)));
  const table = el('table', {},
    el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'bucket start (UTC)' }),
      series.map((s) => el('th', { scope: 'col', text: s.name })))),
    el('tbody', {}, times.map((t, i) => el('tr', {}, el('td', { text: new Date(t).toISOString() }),
      series.map((s) => el('td', { text: s.values[i] === null || s.values[i] === undefined ? '–' : format(s.values[i]) }))))));
  return el('figure', { class: 'chart-figure' },
    el('figcaption', { text: title }), chart, legend,
    el('details', {}, el('summary', { text: `${title} as a table` }), table));
}
