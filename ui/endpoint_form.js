// The form that creates an endpoint or edits every field of one: URL,
// description, event types (the catalog's, by group, plus free filters such
// as order.* or *), wire profile, custom headers, rate limit, enabled.
import { el, field, uid, act } from './dom.js';
import { byGroup } from './workspace.js';

function headerRows() {
  const rows = el('div', { class: 'header-rows' });
  const add = el('button', { type: 'button', class: 'secondary', text: 'Add header' });
  const renumber = () => {
    [...rows.children].forEach((row, i) => {
      const [name, value, remove] = row.querySelectorAll('input, button');
      name.setAttribute('aria-label', `Header ${i + 1} name`);
      value.setAttribute('aria-label', `Header ${i + 1} value`);
      remove.setAttribute('aria-label', `Remove header ${i + 1}`);
    });
  };
  const addRow = (name = '', value = '') => {
    const nameInput = el('input', { type: 'text', class: 'header-name', value: name, placeholder: 'x-api-key', autocomplete: 'off' });
    const valueInput = el('input', { type: 'text', class: 'header-value', value, autocomplete: 'off' });
    const remove = el('button', { type: 'button', class: 'danger', text: 'Remove' });
    const row = el('div', { class: 'header-row' }, nameInput, valueInput, remove);
    remove.addEventListener('click', () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber();
      (next ? next.querySelector('input') : add).focus();
    });
    rows.append(row);
    renumber();
    return nameInput;
  };
  add.addEventListener('click', () => addRow().focus());
  const fieldset = el('fieldset', { class: 'headers-field' },
    el('legend', { text: 'Custom headers' }),
    el('p', { class: 'hint', text: 'Sent with every request to this endpoint (name, value).' }),
    rows, add);
  return {
    fieldset,
    set(headers) {
      rows.replaceChildren();
      for (const [name, value] of Object.entries(headers || {})) addRow(name, value);
    },
    value() {
      const headers = {};
      for (const row of rows.children) {
        const [name, value] = row.querySelectorAll('input');
        if (name.value.trim()) headers[name.value.trim()] = value.value;
      }
      return headers;
    },
  };
}

function typePicker(types) {
  const live = types.filter((t) => !t.archived);
  const boxes = new Map();
  const groups = [...byGroup(live)].map(([group, members]) => el('fieldset', { class: 'type-group' },
    el('legend', { text: group }),
    members.map((type) => {
      const box = el('input', { type: 'checkbox', id: uid('type'), value: type.name });
      boxes.set(type.name, box);
      return el('div', { class: 'check' }, box,
        el('label', { for: box.id, text: type.deprecated ? `${type.name} (deprecated)` : type.name }));
    })));
  const extra = el('input', { type: 'text', class: 'type-filters', placeholder: 'order.*, *', autocomplete: 'off' });
  const fieldset = el('fieldset', { class: 'types-field' },
    el('legend', { text: 'Event types' }),
    el('p', { class: 'hint', text: 'None picked and no filter: every type.' }),
    live.length ? el('div', { class: 'type-groups' }, groups) : el('p', { class: 'hint', text: 'The catalog lists no type: use filters.' }),
    field('Other filters (comma-separated: names, group.* or *)', extra));
  return {
    fieldset,
    set(filters) {
      const rest = [];
      for (const box of boxes.values()) box.checked = false;
      for (const name of filters || []) {
        if (boxes.has(name)) boxes.get(name).checked = true;
        else rest.push(name);
      }
      extra.value = rest.join(', ');
    },
    value() {
      const picked = [...boxes.values()].filter((b) => b.checked).map((b) => b.value);
      const typed = extra.value.split(/[\s,]+/).filter(Boolean);
      return [...picked, ...typed.filter((t) => !picked.includes(t))];
    },
  };
}

// endpoint: null to create one. onSaved(endpoint) after the API answered.
export async function endpointForm(ctx, endpoint, onSaved) {
  const [types, profiles] = await Promise.all([ctx.eventTypes(), ctx.profiles()]);
  const creating = !endpoint;
  const url = el('input', { type: 'url', required: true, placeholder: 'https://example.com/webhooks', autocomplete: 'off' });
  const description = el('input', { type: 'text', autocomplete: 'off' });
  const picker = typePicker(types);
  const fallback = ctx.workspace.profile || 'standard-webhooks';
  const profile = el('select', {},
    el('option', { value: '', text: `Workspace default (${fallback})` }),
    profiles.map((p) => el('option', { value: p.name, text: p.name })));
  const profileHint = el('span', { class: 'hint' });
  const describeProfile = () => {
    const chosen = profiles.find((p) => p.name === (profile.value || fallback));
    profileHint.textContent = chosen && chosen.description ? chosen.description : '';
  };
  profile.addEventListener('change', describeProfile);
  const headers = headerRows();
  const rate = el('input', { type: 'number', min: 1, step: 1, inputmode: 'numeric' });
  const enabled = el('input', { type: 'checkbox', id: uid('enabled') });
  const submit = el('button', { type: 'submit', text: creating ? 'Create endpoint' : 'Save changes' });

  const fill = (e) => {
    url.value = e ? e.url : '';
    description.value = e ? e.description || '' : '';
    picker.set(e ? e.filter_types : []);
    profile.value = e && e.profile ? e.profile : '';
    headers.set(e ? e.headers : {});
    rate.value = e && e.rate_limit ? String(e.rate_limit) : '';
    enabled.checked = e ? e.enabled : true;
    describeProfile();
  };
  fill(endpoint);

  const form = el('form', { class: 'endpoint-form' },
    el('div', { class: 'row' },
      field('URL', url),
      field('Description', description)),
    picker.fieldset,
    el('div', { class: 'row' },
      field('Wire profile', profile, profileHint),
      field('Rate limit (requests per second)', rate, 'Empty: no limit.')),
    headers.fieldset,
    el('div', { class: 'check' }, enabled, el('label', { for: enabled.id, text: 'Enabled' })),
    submit);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    act(submit, async () => {
      const body = {
        url: url.value.trim(),
        description: description.value.trim(),
        filter_types: picker.value(),
        profile: profile.value || null,
        headers: headers.value(),
        rate_limit: rate.value ? Number(rate.value) : null,
        enabled: enabled.checked,
      };
      const saved = creating
        ? await ctx.api.post(`${ctx.base}/endpoints`, body)
        : await ctx.api.patch(ctx.endpointPath(endpoint.id), body);
      if (creating) fill(null);
      else fill(saved);
      await onSaved(saved);
    });
  });
  return form;
}
