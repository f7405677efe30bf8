// Builds elements from data without ever parsing it as HTML, and shows the
// page's error box and status line (both live regions).
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A wide table in a box that scrolls sideways on a narrow screen.
export const scroller = (table) => el('div', { class: 'scroll' }, table);

let counter = 0;
// A page-unique id for pairing labels with controls.
export const uid = (prefix) => `${prefix}-${++counter}`;

// A label and its control, stacked.
// hint: a text, or an element whose text changes.
export function field(labelText, control, hint) {
  if (!control.id) control.id = uid('field');
  let hintEl = null;
  if (hint instanceof Node) hintEl = hint;
  else if (hint) hintEl = el('span', { class: 'hint', text: hint });
  if (hintEl && !hintEl.id) hintEl.id = uid('hint');
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return el('div', { class: 'field' }, el('label', { for: control.id, text: labelText }), control, hintEl);
}

// Shows an error (an ApiError's message: the API's own text), or clears it.
export function showError(error) {
  const box = document.getElementById('error');
  if (!error) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  box.textContent = error.message || String(error);
  box.hidden = false;
}

// Says what an action did, in the page's polite status line.
export function announce(text) {
  const box = document.getElementById('status');
  if (box) box.textContent = text;
}

// Runs an action, showing its error (the API's message) as text; the button
// is disabled meanwhile. Disabling drops the keyboard focus, so it comes back
// to the button afterwards unless the action moved it elsewhere.
export async function act(button, action) {
  showError(null);
  const focused = button && document.activeElement === button;
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (error) {
    showError(error);
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      const lost = !document.activeElement || document.activeElement === document.body;
      if (focused && lost && button.isConnected) button.focus();
    }
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
