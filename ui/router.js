// Hash routes: #/section, #/section/{id}, each with an optional ?query
// (filters), so back/forward and reloads keep the view.
export function currentRoute() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const cut = raw.indexOf('?');
  const path = cut < 0 ? raw : raw.slice(0, cut);
  const query = cut < 0 ? '' : raw.slice(cut + 1);
  const parts = path.split('/').filter(Boolean).map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  return { section: parts[0] || '', id: parts[1] || null, params: new URLSearchParams(query) };
}

export function href(section, id = null, params = null) {
  let out = `#/${section}`;
  if (id) out += `/${encodeURIComponent(id)}`;
  const query = params ? new URLSearchParams(params).toString() : '';
  if (query) out += `?${query}`;
  return out;
}

export function go(section, id = null, params = null) {
  window.location.hash = href(section, id, params);
}
