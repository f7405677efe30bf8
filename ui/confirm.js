// An in-page confirmation (a modal <dialog>: keyboard usable, and it works
// inside a cross-origin iframe where window.confirm may be blocked).
import { el, uid } from './dom.js';

export function confirmAction(message, confirmLabel) {
  const before = document.activeElement;
  const id = uid('confirm');
  const dialog = el('dialog', { class: 'confirm', 'aria-labelledby': id },
    el('form', { method: 'dialog' },
      el('p', { id, text: message }),
      el('div', { class: 'buttons' },
        el('button', { type: 'submit', value: 'cancel', class: 'secondary', text: 'Cancel' }),
        el('button', { type: 'submit', value: 'ok', class: 'danger', text: confirmLabel }))));
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const ok = dialog.returnValue === 'ok';
      dialog.remove();
      if (before && before.isConnected) before.focus();
      resolve(ok);
    });
    dialog.showModal();
    dialog.querySelector('button[value=cancel]').focus();
  });
}
