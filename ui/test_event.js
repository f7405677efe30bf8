// Send Test Event: POST …/endpoints/{ep}/test sends the type's example to
// that endpoint only; the attempt it produced is polled and shown in full.
import { el, field, act, sleep, announce } from './dom.js';
import { attemptView } from './attempt_view.js';
import { endpointChoices, endpointOptions } from './endpoint_choices.js';
import { href } from './router.js';

export async function sendTestEvent(ctx, endpoint, type, result) {
  result.hidden = false;
  result.replaceChildren(el('p', { text: `Sending a ${type} test event to ${endpoint.url}…` }));
  const sent = await ctx.api.post(`${ctx.endpointPath(endpoint.id)}/test`, { type });
  const messageId = sent.message.id;
  const link = el('a', { href: href('messages', messageId), text: messageId });
  const deadline = Date.now() + 30000;
  for (;;) {
    if (!result.isConnected) return null;  // the view was left
    const attempts = (await ctx.api.get(`${ctx.messagePath(messageId)}/attempts`)).data;
    if (attempts.length > 0) {
      const attempt = attempts[attempts.length - 1];
      result.replaceChildren(el('h4', { text: 'Test event sent' }),
        el('p', {}, `Message `, link, ` (${type}) to ${endpoint.url}`),
        attemptView(attempt, 'h5'));
      announce(`Test event delivered: response ${attempt.response_status ?? attempt.error}`);
      return attempt;
    }
    if (Date.now() > deadline) break;
    await sleep(400);
  }
  result.replaceChildren(el('p', {}, 'Message ', link, ': no attempt yet after 30 s.'));
  return null;
}

// From an endpoint (current() answers it as last saved): pick one of the
// catalog's types.
export async function testEventForEndpoint(ctx, current, onSent) {
  const select = el('select', {});
  const send = el('button', { type: 'submit', text: 'Send test event' });
  const result = el('div', { class: 'result', 'aria-live': 'polite', hidden: true, 'data-role': 'test-result' });
  const form = el('form', { class: 'row' }, field('Event type', select), send);
  const types = (await ctx.eventTypes()).filter((t) => !t.archived);
  select.replaceChildren(...types.map((t) => el('option', { value: t.name, text: t.name })));
  // The first type the endpoint subscribes to by name, if any.
  const preferred = (current().filter_types || []).find((f) => types.some((t) => t.name === f));
  if (preferred) select.value = preferred;
  if (types.length === 0) {
    send.disabled = true;
    form.append(el('p', { class: 'hint', text: 'The workspace has no event type to send.' }));
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    act(send, async () => {
      await sendTestEvent(ctx, current(), select.value, result);
      if (onSent) await onSent();
    });
  });
  return el('div', {}, form, result);
}

// From a catalog type: pick an endpoint of the workspace.
export async function testEventForType(ctx, type) {
  const select = el('select', {});
  const send = el('button', { type: 'submit', text: 'Send', 'aria-label': `Send a ${type.name} test event` });
  const result = el('div', { class: 'result', 'aria-live': 'polite', hidden: true, 'data-role': 'test-result' });
  const form = el('form', { class: 'row' }, field(`Endpoint for ${type.name}`, select), send);
  const { endpoints } = await endpointChoices(ctx);
  select.replaceChildren(...endpointOptions(endpoints));
  if (endpoints.length === 0) {
    send.disabled = true;
    form.append(el('p', { class: 'hint' }, 'No endpoint yet: ', el('a', { href: href('endpoints'), text: 'add one' }), '.'));
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const endpoint = endpoints.find((e) => e.id === select.value);
    act(send, () => sendTestEvent(ctx, endpoint, type.name, result));
  });
  return el('div', {}, form, result);
}
