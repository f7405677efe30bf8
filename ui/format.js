// Text forms of API values: JSON, times, states.
import { el } from './dom.js';

export const pretty = (value) => JSON.stringify(value, null, 2);

// API times are RFC 3339 in UTC; shown as they are (unambiguous), with a
// title in the browser's local time.
export function time(iso) {
  if (!iso) return el('span', { text: '—' });
  const local = new Date(iso);
  return el('time', { datetime: iso, title: Number.isNaN(local.getTime()) ? null : local.toString(), text: iso });
}

// <input type="datetime-local"> value (local time) -> RFC 3339 in UTC.
export function localInputToUtc(value) {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

// RFC 3339 -> a datetime-local value in local time.
export function utcToLocalInput(iso) {
  const date = new Date(iso || '');
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// A delivery state as a marked word.
export const stateBadge = (state) => el('span', { class: `state state-${state}`, text: state });

export const badge = (text, kind) => el('span', { class: `badge badge-${kind}`, text });

export const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
