// One message: its payload, its deliveries (with Resend) and every attempt
// in full.
import { el, act, announce, sleep, scroller } from './dom.js';
import { attemptView } from './attempt_view.js';
import { href } from './router.js';
import { time, pretty, stateBadge, badge, plural } from './format.js';

export async function showMessagePage(view, ctx, id) {
  const heading = el('h2', { tabindex: -1, text: `Message ${id}` });
  const facts = el('div');
  const payload = el('pre', { class: 'json', id: 'message-payload' });
  const deliveryBody = el('tbody');
  const deliveries = el('table', { id: 'message-deliveries' },
    el('caption', { class: 'hint', text: 'Deliveries: one per endpoint' }),
    el('thead', {}, el('tr', {}, ['Endpoint', 'State', 'Attempts', 'Next attempt', 'Actions'].map((h) => el('th', { scope: 'col', text: h })))),
    deliveryBody);
  const noDeliveries = el('p', { class: 'hint', text: 'No endpoint subscribed to this message.', hidden: true });
  const attempts = el('div', { id: 'message-attempts', 'aria-live': 'polite' });
  const refresh = el('button', { type: 'button', class: 'secondary', text: 'Refresh' });
  view.append(el('p', {}, el('a', { href: href('messages'), text: '← All messages' })), heading, facts,
    el('section', { class: 'panel', 'aria-labelledby': 'payload-title' }, el('h3', { id: 'payload-title', text: 'Payload' }), payload),
    el('section', { class: 'panel', 'aria-labelledby': 'deliveries-title' },
      el('h3', { id: 'deliveries-title', text: 'Deliveries' }), refresh, scroller(deliveries), noDeliveries),
    el('section', { class: 'panel', 'aria-labelledby': 'attempts-title' },
      el('h3', { id: 'attempts-title', text: 'Attempts' }), attempts));

  const endpointUrls = new Map();
  async function endpointUrl(endpointId) {
    if (!endpointUrls.has(endpointId)) {
      endpointUrls.set(endpointId, ctx.api.get(ctx.endpointPath(endpointId)).then((e) => e.url, () => endpointId));
    }
    return endpointUrls.get(endpointId);
  }

  // Shows the deliveries and attempts; answers how many attempts there are.
  async function load() {
    const [dlv, att] = await Promise.all([
      ctx.api.get(`${ctx.messagePath(id)}/deliveries`),
      ctx.api.get(`${ctx.messagePath(id)}/attempts`),
    ]);
    const rows = [];
    for (const d of dlv.data) {
      const url = await endpointUrl(d.endpoint_id);
      const resend = el('button', { type: 'button', text: 'Resend', 'aria-label': `Resend to ${url}` });
      resend.addEventListener('click', () => act(resend, () => resendDelivery(d, url)));
      rows.push(el('tr', { 'data-delivery': d.id },
        el('td', {}, el('a', { class: 'url', href: href('endpoints', d.endpoint_id), text: url })),
        el('td', {}, stateBadge(d.state)),
        el('td', { 'data-field': 'attempt-count', text: String(d.attempt_count) }),
        el('td', {}, time(d.next_attempt_at)),
        el('td', {}, resend)));
    }
    deliveryBody.replaceChildren(...rows);
    deliveries.hidden = rows.length === 0;
    noDeliveries.hidden = rows.length > 0;
    attempts.replaceChildren(...(att.data.length
      ? att.data.map((a) => attemptView(a))
      : [el('p', { class: 'hint', text: 'No attempts yet.' })]));
    return att.data.length;
  }

  async function resendDelivery(delivery, url) {
    const before = await load();
    await ctx.api.post(`${ctx.deliveryPath(delivery.id)}/resend`);
    announce(`Resent to ${url}: due now.`);
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline && view.isConnected) {
      await sleep(400);
      const now = await load();
      if (now > before) {
        announce(`Resent to ${url}: ${plural(now, 'attempt')} now.`);
        return;
      }
    }
  }

  refresh.addEventListener('click', () => act(refresh, load));

  await act(null, async () => {
    const message = await ctx.api.get(ctx.messagePath(id));
    const item = (label, value) => [el('dt', { text: label }), el('dd', {}, value)];
    facts.replaceChildren(el('dl', { class: 'facts' },
      item('Type', el('span', { class: 'mono', 'data-field': 'type', text: message.type })),
      item('Created', time(message.created_at)),
      item('Test event', message.test ? 'yes' : 'no'),
      item('Flags', message.flags && message.flags.length ? message.flags.map((f) => badge(f, f === 'PASSIVE' ? 'passive' : 'flag')) : 'none')));
    payload.textContent = pretty(message.data);
    await load();
  });
}
