// The tab's sessionStorage, or this page's memory where the browser denies
// storage (a portal framed by another site, with third-party storage
// blocked): then the token lasts as long as the page.
const memory = new Map();

function storage() {
  try {
    return window.sessionStorage;
  } catch {
    return null;  // SecurityError: storage denied to this document
  }
}

export function load(key) {
  const store = storage();
  if (store) {
    try {
      return store.getItem(key);
    } catch {
      // fall through to memory
    }
  }
  return memory.has(key) ? memory.get(key) : null;
}

export function save(key, value) {
  memory.set(key, value);
  const store = storage();
  try {
    if (store) store.setItem(key, value);
  } catch {
    // memory only
  }
}

export function forget(key) {
  memory.delete(key);
  const store = storage();
  try {
    if (store) store.removeItem(key);
  } catch {
    // nothing stored there
  }
}
