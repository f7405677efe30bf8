// Previous/next paging over the API's pages ({"data", "next_cursor"}): the
// cursors of the pages seen so far make "Previous" possible.
import { el } from './dom.js';

export class Pager {
  // load(cursor) fetches and shows one page and returns it.
  constructor(label, load) {
    this.load = load;
    this.cursors = [null];
    this.prev = el('button', { type: 'button', class: 'secondary', text: 'Previous page', 'aria-label': `Previous page of ${label}` });
    this.next = el('button', { type: 'button', class: 'secondary', text: 'Next page', 'aria-label': `Next page of ${label}` });
    this.where = el('span', { class: 'hint pager-where' });
    this.element = el('nav', { class: 'pager', 'aria-label': `Pages of ${label}` }, this.prev, this.where, this.next);
    this.prev.addEventListener('click', () => this.move(-1));
    this.next.addEventListener('click', () => this.move(1));
    this.nextCursor = null;
  }

  async move(step) {
    if (step > 0 && this.nextCursor) this.cursors.push(this.nextCursor);
    if (step < 0 && this.cursors.length > 1) this.cursors.pop();
    await this.reload();
    (step > 0 ? (this.next.disabled ? this.prev : this.next) : (this.prev.disabled ? this.next : this.prev)).focus();
  }

  // Back to the first page (after a filter changed).
  async first() {
    this.cursors = [null];
    await this.reload();
  }

  async reload() {
    const page = await this.load(this.cursors[this.cursors.length - 1]);
    this.nextCursor = page.next_cursor || null;
    this.prev.disabled = this.cursors.length === 1;
    this.next.disabled = !this.nextCursor;
    this.where.textContent = `Page ${this.cursors.length}`;
    this.element.hidden = this.cursors.length === 1 && !this.nextCursor;
    return page;
  }
}

// "?limit=…&cursor=…" plus other parameters, skipping empty ones.
export function pageQuery(limit, cursor, params = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set('cursor', cursor);
  for (const [name, value] of Object.entries(params)) if (value) query.set(name, value);
  return `?${query}`;
}
