// An endpoint's signing secret: hidden until revealed, copied on request,
// rotated after a confirmation (the new one is then shown).
import { el, act, announce } from './dom.js';
import { confirmAction } from './confirm.js';

async function copyText(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    // No clipboard permission (e.g. an iframe without clipboard-write).
    const type = input.type;
    input.type = 'text';
    input.select();
    let copied = false;
    try {
      copied = document.execCommand('copy');
    } catch {
      copied = false;
    }
    input.type = type;
    return copied;
  }
}

// current() answers the endpoint as last saved (its URL may have changed).
export function secretPanel(ctx, current, onRotated) {
  const input = el('input', { type: 'password', readonly: true, class: 'secret mono', 'aria-label': 'Signing secret', value: current().secret || '', autocomplete: 'off' });
  const reveal = el('button', { type: 'button', class: 'secondary', text: 'Reveal', 'aria-pressed': 'false' });
  const copy = el('button', { type: 'button', class: 'secondary', text: 'Copy' });
  const rotate = el('button', { type: 'button', class: 'danger', text: 'Rotate secret' });
  const show = (shown) => {
    input.type = shown ? 'text' : 'password';
    reveal.textContent = shown ? 'Hide' : 'Reveal';
    reveal.setAttribute('aria-pressed', String(shown));
  };
  reveal.addEventListener('click', () => show(input.type === 'password'));
  copy.addEventListener('click', async () => {
    announce((await copyText(input)) ? 'Secret copied to the clipboard.' : 'Could not copy: reveal the secret and copy it by hand.');
  });
  rotate.addEventListener('click', () => act(rotate, async () => {
    const endpoint = current();
    const ok = await confirmAction(`Rotate the signing secret of ${endpoint.url}? A new secret signs from now on; the current one keeps signing too until the next rotation.`, 'Rotate secret');
    if (!ok) return;
    const rotated = await ctx.api.post(`${ctx.endpointPath(endpoint.id)}/secret/rotate`);
    input.value = rotated.secret || '';
    show(true);
    announce('Secret rotated: the new secret is shown. The previous one keeps signing until the next rotation.');
    if (onRotated) onRotated(rotated);
  }));
  return el('section', { class: 'panel', 'aria-labelledby': 'secret-title' },
    el('h3', { id: 'secret-title', text: 'Signing secret' }),
    el('div', { class: 'secret-row' }, input, reveal, copy, rotate),
    el('p', { class: 'hint', text: 'Receivers verify each request with it. Keep it private.' }));
}
