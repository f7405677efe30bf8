// One attempt in full: the request Ferry sent (URL, headers) and what came
// back (status, headers, body, latency) or the transport error.
import { el } from './dom.js';
import { time } from './format.js';

export function headersTable(headers, caption) {
  const names = Object.keys(headers || {}).sort();
  if (names.length === 0) return el('p', { class: 'hint', text: `${caption}: none` });
  return el('table', { class: 'headers' },
    el('caption', { text: caption }),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Name' }), el('th', { scope: 'col', text: 'Value' }))),
    el('tbody', {}, names.map((name) => el('tr', {},
      el('th', { scope: 'row', class: 'mono', text: name }),
      el('td', { class: 'mono wrap', text: headers[name] })))));
}

export function statusText(attempt) {
  return attempt.response_status !== null && attempt.response_status !== undefined
    ? String(attempt.response_status)
    : `no response (${attempt.error || 'error'})`;
}

export function statusClass(attempt) {
  const status = attempt.response_status;
  return status && status >= 200 && status < 300 ? 'status-ok' : 'status-bad';
}

export function attemptView(attempt, headingLevel = 'h4') {
  const item = (label, name, value) => [el('dt', { text: label }), el('dd', { 'data-field': name }, value)];
  return el('article', { class: 'attempt', 'data-attempt': attempt.id },
    el(headingLevel, { text: `Attempt ${attempt.attempt_number}: ${statusText(attempt)}` }),
    el('dl', { class: 'facts' },
      item('Started', 'started', time(attempt.started_at)),
      item('URL', 'url', el('span', { class: 'mono wrap', text: attempt.url })),
      item('Response status', 'response-status', el('span', { class: statusClass(attempt), text: statusText(attempt) })),
      item('Latency', 'latency', `${attempt.latency_ms} ms`),
      attempt.error ? item('Error', 'error', `${attempt.error}${attempt.error_detail ? `: ${attempt.error_detail}` : ''}`) : null),
    el('div', { class: 'attempt-headers' },
      el('div', { 'data-field': 'request-headers' }, headersTable(attempt.request_headers, 'Request headers sent')),
      el('div', { 'data-field': 'response-headers' }, headersTable(attempt.response_headers, 'Response headers'))),
    el('h5', { text: 'Response body' }),
    el('pre', { class: 'body', 'data-field': 'response-body', text: attempt.response_body || '(empty)' }));
}
