// Drives the dashboard (/ui) and the customer portal (/ui/portal) in a real
// Chromium through playwright-core; run by tests/integration/test_dashboard.py.
// Input: one JSON object on stdin:
//   {"base_url", "admin_token", "workspace_key", "workspace", "many_workspace",
//    "first_url", "endpoint_url", "keyboard_url", "many_urls",
//    "test_type", "other_type", "passive_type", "deprecated_type", "archived_type",
//    "portal_path", "portal_endpoint_urls", "frame_page", "other_workspace",
//    "screenshots", "chromium"}
// Prints one line per step, the path of each screenshot ("screenshot: …"),
// and "result: {json}" with what the Python side checks through the API;
// exits 0 when every check passed, 1 with the failure otherwise.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const input = JSON.parse(readFileSync(0, 'utf8'));
const log = (line) => console.log(line);
const fail = (message) => { throw new Error(message); };
const result = {};

async function screenshot(page, name) {
  const path = join(input.screenshots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  // A full-page screenshot of a scrolled page leaves Chromium's scroll state
  // such that the next click that scrolls lands beside its target.
  await page.evaluate(() => window.scrollTo(0, 0));
  log(`screenshot: ${path}`);
}

// The API as the Python side sees it (the admin token), to check what the
// browser did.
async function api(path) {
  const response = await fetch(`${input.base_url}${path}`, { headers: { Authorization: `Bearer ${input.admin_token}` } });
  if (!response.ok) fail(`GET ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}
const wsPath = `/api/v1/workspaces/${encodeURIComponent(input.workspace)}`;

async function findEndpoint(url) {
  const page = await api(`${wsPath}/endpoints?limit=1000`);
  return page.data.find((e) => e.url === url);
}

// Where the keyboard focus is: the element's tag, text, label and outline.
const focusInfo = (page) => page.evaluate(() => {
  const active = document.activeElement;
  const style = getComputedStyle(active);
  return {
    tag: active.tagName, id: active.id, text: (active.textContent || '').trim(), type: active.type || '',
    inNav: Boolean(active.closest('nav.sections')), inForm: Boolean(active.closest('form')),
    outline: `${style.outlineStyle} ${style.outlineWidth}`,
  };
});

async function tabUntil(page, predicate, what, limit = 40) {
  for (let i = 0; i < limit; i += 1) {
    await page.keyboard.press('Tab');
    const info = await focusInfo(page);
    if (predicate(info)) return info;
  }
  return fail(`Tab never reached ${what}`);
}

const args = typeof process.getuid === 'function' && process.getuid() === 0 ? ['--no-sandbox'] : [];
const browser = await chromium.launch({ executablePath: input.chromium, headless: true, args });
let exitCode = 0;
let current = null;  // the page a failure is shown on
const consoleErrors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: input.base_url });
  const page = await context.newPage();
  current = page;
  const watch = (p) => {
    p.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
    p.on('pageerror', (error) => consoleErrors.push(String(error)));
    p.setDefaultTimeout(20000);
  };
  watch(page);
  const error = page.locator('#error');
  const tokenField = page.getByLabel('Admin token or workspace key', { exact: true });
  const heading = (p, name) => p.getByRole('heading', { level: 2, name });
  const nav = (p) => p.getByRole('navigation', { name: 'Sections' });

  // --- Sign in: a wrong token shows the API's message as text.
  await page.goto(`${input.base_url}/ui`);
  await tokenField.fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await error.waitFor({ state: 'visible' });
  const errorText = await error.textContent();
  if (!/401/.test(errorText) || !/unknown token/.test(errorText)) fail(`unexpected sign-in error: ${errorText}`);
  log(`wrong token: ${errorText}`);

  // The focused control shows it (outline of :focus-visible after a Tab).
  await tokenField.focus();
  await page.keyboard.press('Tab');
  const focused = await focusInfo(page);
  if (focused.text !== 'Sign in' || !focused.outline.startsWith('solid')) fail(`after Tab from the token field: ${JSON.stringify(focused)}`);

  // Keyboard only: type the token and press Enter.
  await tokenField.fill(input.admin_token);
  await tokenField.press('Enter');
  const picker = page.getByLabel('Workspace', { exact: true });
  await picker.waitFor({ state: 'visible' });
  if (page.url().includes(input.admin_token)) fail('the token is in the URL');
  if (await page.evaluate(() => sessionStorage.getItem('ferry.token')) !== input.admin_token) fail('the token is not in sessionStorage');
  log('signed in with the admin token');

  // --- Pick the workspace: the Endpoints section, its route in the hash.
  await picker.selectOption(input.workspace);
  await heading(page, `Endpoints — ${input.workspace}`).waitFor();
  if (!page.url().endsWith('#/endpoints')) fail(`route after picking a workspace: ${page.url()}`);
  const sections = await nav(page).getByRole('link').allTextContents();
  if (sections.join('|') !== 'Endpoints|Event catalog|Messages|Statistics') fail(`sections: ${sections}`);
  await screenshot(page, 'endpoints-empty');

  // --- Create an endpoint: types picked from the catalog, a wildcard, a
  // custom header, a rate limit.
  const create = page.locator('#create-endpoint');
  if (!(await create.evaluate((d) => d.open))) await create.locator('summary').click();
  await create.getByLabel('URL', { exact: true }).fill(input.first_url);
  await create.getByLabel('Description', { exact: true }).fill('First draft');
  await create.getByRole('group', { name: input.test_type.split('.')[0] }).waitFor();
  await create.getByLabel(input.test_type, { exact: true }).check();
  await create.getByLabel(input.other_type, { exact: true }).check();
  await create.getByLabel('Other filters (comma-separated: names, group.* or *)').fill('delivery.*');
  await create.getByRole('button', { name: 'Add header' }).click();
  await create.getByLabel('Header 1 name').fill('x-dash-token');
  await create.getByLabel('Header 1 value').fill('abc123');
  await create.getByLabel('Rate limit (requests per second)').fill('50');
  await screenshot(page, 'endpoint-create-form');
  await create.getByRole('button', { name: 'Create endpoint' }).click();
  const firstRow = page.locator('#endpoint-table tbody tr', { hasText: input.first_url });
  await firstRow.waitFor();
  const rowText = (await firstRow.innerText()).replace(/\s+/g, ' ');
  const wantTypes = `${input.test_type}, ${input.other_type}, delivery.*`;
  if (!rowText.includes('Enabled') || !rowText.includes(wantTypes) || !rowText.includes('First draft')) fail(`row: ${rowText}`);
  let created = await findEndpoint(input.first_url);
  if (!created || created.headers['x-dash-token'] !== 'abc123' || created.rate_limit !== 50) fail(`created through the form: ${JSON.stringify(created)}`);
  log(`endpoint created: ${rowText}`);

  // A refused URL shows the API's error.
  await create.getByLabel('URL', { exact: true }).fill('ftp://example.com/x');
  await create.getByRole('button', { name: 'Create endpoint' }).click();
  await error.waitFor({ state: 'visible' });
  log(`refused URL: ${await error.textContent()}`);

  // --- Disable, enable from the list.
  await firstRow.getByRole('button', { name: /^Disable/ }).click();
  await firstRow.getByText('Disabled').waitFor();
  await firstRow.getByRole('button', { name: /^Enable/ }).click();
  await firstRow.getByText('Enabled').waitFor();
  log('disabled and enabled again');

  // --- Keyboard: Tab reaches the navigation, then a form; Enter submits it.
  await picker.focus();
  const navFocus = await tabUntil(page, (f) => f.inNav, 'the navigation');
  if (!navFocus.outline.startsWith('solid')) fail(`nav link focus not visible: ${JSON.stringify(navFocus)}`);
  await page.locator('#create-endpoint').evaluate((d) => { d.open = true; });
  const formFocus = await tabUntil(page, (f) => f.inForm && f.tag === 'INPUT' && f.type === 'url', 'the URL field of a form');
  await page.keyboard.type(input.keyboard_url);
  await page.keyboard.press('Enter');
  await page.locator('#endpoint-table tbody tr', { hasText: input.keyboard_url }).waitFor();
  log(`keyboard: Tab reached "${navFocus.text}" in the navigation and the form's URL field (${formFocus.tag}); Enter created ${input.keyboard_url}`);

  // --- The endpoint's page: edit, reveal, rotate.
  await firstRow.getByRole('link', { name: input.first_url }).click();
  await heading(page, `Endpoint ${input.first_url}`).waitFor();
  if (!page.url().includes(`#/endpoints/${created.id}`)) fail(`endpoint route: ${page.url()}`);
  const edit = page.locator('section', { has: page.getByRole('heading', { name: 'Edit endpoint' }) });
  if (await edit.getByLabel('URL', { exact: true }).inputValue() !== input.first_url) fail('the edit form is not filled in');
  if (!(await edit.getByLabel(input.test_type, { exact: true }).isChecked())) fail('picked type not checked in the edit form');
  if (await edit.getByLabel('Header 1 value').inputValue() !== 'abc123') fail('header not in the edit form');
  await edit.getByLabel('URL', { exact: true }).fill(input.endpoint_url);
  await edit.getByLabel('Description', { exact: true }).fill('Orders hook');
  await edit.getByLabel('Wire profile').selectOption('standard-webhooks');
  // A header row added, then removed again: not saved.
  await edit.getByRole('button', { name: 'Add header' }).click();
  await edit.getByLabel('Header 2 name').fill('x-temporary');
  await edit.getByRole('button', { name: 'Remove header 2' }).click();
  if (await edit.getByLabel('Header 2 name').count() !== 0) fail('the removed header row is still there');
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await heading(page, `Endpoint ${input.endpoint_url}`).waitFor();
  await page.locator('#status', { hasText: 'Endpoint saved.' }).waitFor();
  const summaryUrl = await page.locator('#endpoint-summary [data-field=url]').textContent();
  if (summaryUrl !== input.endpoint_url) fail(`summary URL after saving: ${summaryUrl}`);
  let edited = await api(`${wsPath}/endpoints/${created.id}`);
  if (edited.url !== input.endpoint_url || edited.description !== 'Orders hook' || edited.profile !== 'standard-webhooks') {
    fail(`after editing: ${JSON.stringify(edited)}`);
  }
  log(`edited: ${edited.url}, "${edited.description}", profile ${edited.profile}`);

  const secret = page.getByRole('textbox', { name: 'Signing secret', exact: true });
  if (await secret.getAttribute('type') !== 'password') fail('the secret is not hidden at first');
  await page.getByRole('button', { name: 'Reveal' }).click();
  if (await secret.getAttribute('type') !== 'text') fail('Reveal did not show the secret');
  const oldSecret = await secret.inputValue();
  if (oldSecret !== edited.secret) fail(`revealed secret ${oldSecret} is not the API's ${edited.secret}`);
  await page.getByRole('button', { name: 'Copy' }).click();
  await page.locator('#status', { hasText: 'Secret copied' }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  if (copied !== oldSecret) fail(`Copy put ${copied} on the clipboard`);
  await page.getByRole('button', { name: 'Hide' }).click();
  if (await secret.getAttribute('type') !== 'password') fail('Hide did not hide the secret');
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  if (!(await dialog.textContent()).includes(`of ${input.endpoint_url}?`)) fail(`rotation asks about: ${await dialog.textContent()}`);
  await screenshot(page, 'rotate-confirm');
  await dialog.getByRole('button', { name: 'Rotate secret' }).click();
  await page.locator('#status', { hasText: 'Secret rotated' }).waitFor();
  const newSecret = await secret.inputValue();
  if (newSecret === oldSecret || !newSecret.startsWith('whsec_') || await secret.getAttribute('type') !== 'text') fail(`after rotation: ${newSecret}`);
  edited = await api(`${wsPath}/endpoints/${created.id}`);
  if (edited.secret !== newSecret) fail(`the API's secret ${edited.secret} is not the one shown ${newSecret}`);
  Object.assign(result, { endpoint_id: created.id, old_secret: oldSecret, new_secret: newSecret });
  log('secret revealed, copied, hidden, rotated (the new one shown is the API\'s)');

  // --- Send a test event; its attempt in full.
  await page.getByLabel('Event type', { exact: true }).selectOption(input.test_type);
  await page.getByRole('button', { name: 'Send test event' }).click();
  const attempt = page.locator('[data-role=test-result] article.attempt');
  await attempt.waitFor({ timeout: 30000 });
  const status = (await attempt.locator('[data-field=response-status]').textContent()).trim();
  if (status !== '200') fail(`test event attempt status: ${status}`);
  const sentHeaders = await attempt.locator('[data-field=request-headers]').innerText();
  // Attempts redact the values of headers named like credentials (x-dash-token).
  if (!/x-dash-token\s+\[redacted\]/.test(sentHeaders) || !/webhook-signature\s+v1,/.test(sentHeaders)) fail(`request headers shown: ${sentHeaders}`);
  const sentTo = await page.locator('[data-role=test-result]').innerText();
  if (!sentTo.includes(`to ${input.endpoint_url}`)) fail(`test result names another URL: ${sentTo}`);
  const gotHeaders = await attempt.locator('[data-field=response-headers]').innerText();
  if (!/x-receiver\s+dash/.test(gotHeaders)) fail(`response headers shown: ${gotHeaders}`);
  const body = await attempt.locator('[data-field=response-body]').textContent();
  if (!body.includes('"received": true') && !body.includes('"received":true')) fail(`response body shown: ${body}`);
  log(`test event: status ${status}, latency ${await attempt.locator('[data-field=latency]').textContent()}`);
  // The endpoint's logs list it.
  await page.locator('#endpoint-attempts tbody tr').first().waitFor();
  await page.locator('#endpoint-deliveries tbody tr').first().waitFor();
  await page.getByLabel('Delivery state').selectOption('failed');
  await page.locator('#endpoint-deliveries').waitFor({ state: 'hidden' });
  await page.getByLabel('Delivery state').selectOption('succeeded');
  await page.locator('#endpoint-deliveries tbody tr').first().waitFor();
  await screenshot(page, 'endpoint-page');

  // --- Messages: filter by type, by time; open the test message; resend.
  await nav(page).getByRole('link', { name: 'Messages' }).click();
  await heading(page, 'Messages').waitFor();
  // A navigation moves the focus to the new view's heading.
  const afterNav = await focusInfo(page);
  if (afterNav.tag !== 'H2' || afterNav.text !== 'Messages') fail(`focus after a navigation: ${JSON.stringify(afterNav)}`);
  const messageRows = page.locator('#message-table tbody tr');
  await messageRows.first().waitFor();
  const allTypes = await page.locator('#message-table tbody tr td:nth-child(2) .mono').allTextContents();
  if (!allTypes.includes(input.other_type) || !allTypes.includes(input.test_type)) fail(`message types listed: ${allTypes}`);
  await page.getByLabel('Event type', { exact: true }).fill(input.test_type);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForFunction((type) => {
    const cells = [...document.querySelectorAll('#message-table tbody tr td:nth-child(2) .mono')];
    return cells.length > 0 && cells.every((c) => c.textContent === type);
  }, input.test_type);
  if (!page.url().includes(`type=${encodeURIComponent(input.test_type)}`)) fail(`filter not in the route: ${page.url()}`);
  const filtered = await messageRows.count();
  log(`messages: ${allTypes.length} listed, ${filtered} of type ${input.test_type}`);
  await screenshot(page, 'messages');
  // A range in the future: nothing; the route holds it as RFC 3339 UTC.
  const future = new Date(Date.now() + 2 * 86400000);
  const pad = (n) => String(n).padStart(2, '0');
  const local = `${future.getFullYear()}-${pad(future.getMonth() + 1)}-${pad(future.getDate())}T10:00`;
  await page.getByLabel('Since (your local time)').fill(local);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('#no-messages').waitFor();
  const since = new URLSearchParams(page.url().split('?')[1]).get('since');
  if (since !== new Date(local).toISOString()) fail(`since in the route: ${since}`);
  // Back: the type filter alone again (the route keeps the filters).
  await page.goBack();
  await messageRows.first().waitFor();
  if (await page.getByLabel('Event type', { exact: true }).inputValue() !== input.test_type) fail('Back lost the type filter');
  log(`time filter: since=${since} lists nothing; Back restored the type filter`);
  await messageRows.first().getByRole('link').click();
  await page.locator('#message-payload').waitFor();
  const payload = JSON.parse(await page.locator('#message-payload').textContent());
  log(`message payload keys: ${Object.keys(payload).join(', ')}`);
  const delivery = page.locator('#message-deliveries tbody tr', { hasText: input.endpoint_url });
  await delivery.waitFor();
  const attempts = page.locator('#message-attempts article.attempt');
  const before = await attempts.count();
  await delivery.getByRole('button', { name: `Resend to ${input.endpoint_url}` }).click();
  await page.waitForFunction((n) => document.querySelectorAll('#message-attempts article.attempt').length > n, before, { timeout: 30000 });
  const count = (await delivery.locator('[data-field=attempt-count]').textContent()).trim();
  const second = attempts.nth(before);
  if ((await second.locator('h4').textContent()) !== `Attempt ${before + 1}: 200`) fail(`second attempt: ${await second.locator('h4').textContent()}`);
  if (!/x-dash-token/.test(await second.locator('[data-field=request-headers]').innerText())) fail('second attempt without the request headers');
  log(`resent: ${before} -> ${await attempts.count()} attempts, delivery shows ${count}`);
  await screenshot(page, 'message');

  // --- Statistics: the hook endpoint has exactly its two attempts (the test
  // event and its resend), both 200; the failing endpoint only failures.
  await nav(page).getByRole('link', { name: 'Statistics' }).click();
  await heading(page, 'Statistics').waitFor();
  const totals = page.locator('#stats-totals');
  await totals.waitFor();
  const figures = page.locator('#statistics figure');
  if (await figures.count() !== 4) fail(`statistics of the workspace: ${await figures.count()} charts`);
  for (const title of ['Messages published', 'Attempts by outcome', 'Success rate', 'Attempt latency']) {
    const chart = page.locator('#statistics figure', { hasText: title }).locator('svg[role=img]');
    if (!(await chart.getAttribute('aria-label')).startsWith(`${title}:`)) fail(`chart ${title} has no summary`);
  }
  await screenshot(page, 'statistics');
  const totalOf = async (name) => (await totals.locator(`[data-field=${name}]`).textContent()).trim();
  const hookStats = async () => {
    await page.getByLabel('Endpoint', { exact: true }).selectOption({ label: `${input.endpoint_url} (Orders hook)` });
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator(`#statistics[data-endpoint="${result.endpoint_id}"]`).waitFor();
  };
  await hookStats();
  if (await figures.count() !== 3) fail(`an endpoint's statistics: ${await figures.count()} charts (no message volume)`);
  const hook = { attempts: await totalOf('attempts'), succeeded: await totalOf('succeeded'), rate: await totalOf('success-rate') };
  if (hook.attempts !== '2' || hook.succeeded !== '2' || hook.rate !== '100 %') fail(`hook endpoint statistics: ${JSON.stringify(hook)}`);
  // The bars hold the two attempts: their table sums to 2.
  const cells = await page.locator('#statistics figure', { hasText: 'Attempts by outcome' }).locator('tbody td:nth-child(2)').allTextContents();
  const summed = cells.filter((c) => c !== '–').reduce((sum, c) => sum + Number(c), 0);
  if (summed !== 2) fail(`succeeded attempts in the chart's table: ${summed}`);
  const failing = await findEndpoint(input.failing_url);
  await page.getByLabel('Endpoint', { exact: true }).selectOption({ label: input.failing_url });
  await page.getByRole('button', { name: 'Show' }).click();
  await page.locator(`#statistics[data-endpoint="${failing.id}"]`).waitFor();
  if (await totalOf('success-rate') !== '0.0 %') fail(`failing endpoint success rate: ${await totalOf('success-rate')}`);
  if (Number(await totalOf('failed')) < 1 || await totalOf('succeeded') !== '0') fail('failing endpoint statistics');
  log(`statistics: hook ${JSON.stringify(hook)}; failing endpoint ${await totalOf('failed')} failed`);
  // Its page: health over 24 hours and the latest failures, with their status.
  await page.evaluate((id) => { window.location.hash = `#/endpoints/${id}`; }, failing.id);
  const health = page.locator('#endpoint-health');
  await health.waitFor();
  if ((await health.locator('[data-field=succeeded]').textContent()) !== '0') fail('failing endpoint health');
  const failureRow = page.locator('#endpoint-failures tbody tr').first();
  await failureRow.waitFor();
  if (!(await failureRow.innerText()).includes('500')) fail(`latest failure: ${await failureRow.innerText()}`);
  await screenshot(page, 'endpoint-health');
  // The log filtered by that endpoint and status failed: its one message.
  const failedDelivery = (await api(`${wsPath}/endpoints/${failing.id}/deliveries`)).data[0];
  if (failedDelivery.state !== 'failed') fail(`the failing endpoint's delivery: ${failedDelivery.state}`);
  const showFailed = async () => {
    await nav(page).getByRole('link', { name: 'Messages' }).click();
    await heading(page, 'Messages').waitFor();
    await page.getByLabel('Delivery status').selectOption('failed');
    await page.getByLabel('Endpoint', { exact: true }).selectOption({ label: input.failing_url });
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForFunction(() => window.location.hash.includes('status=failed'));
  };
  await showFailed();
  await page.locator('#message-table tbody tr').first().waitFor();
  const failedIds = await page.locator('#message-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.message));
  if (failedIds.join() !== failedDelivery.message_id) fail(`failed messages of the failing endpoint: ${failedIds}`);
  await screenshot(page, 'messages-failed');
  // Recover: its failed deliveries since a day ago are sent again.
  await page.evaluate((id) => { window.location.hash = `#/endpoints/${id}`; }, failing.id);
  await page.getByRole('button', { name: 'Recover failed deliveries' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Recover' }).click();
  await page.locator('#recover-result', { hasText: '1 delivery recovered' }).waitFor();
  for (let i = 0; ; i += 1) {
    const state = (await api(`${wsPath}/deliveries/${failedDelivery.id}`)).state;
    if (state === 'succeeded') break;
    if (i > 100) fail(`recovered delivery still ${state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  log(`recovered ${failedDelivery.id}: succeeded`);
  await showFailed();
  await page.locator('#no-messages').waitFor();
  await page.evaluate((id) => { window.location.hash = `#/endpoints/${id}`; }, failing.id);
  await page.locator('#endpoint-health').waitFor();
  await page.getByRole('link', { name: 'Charts for this endpoint' }).click();
  await page.locator(`#statistics[data-endpoint="${failing.id}"]`).waitFor();
  if (await page.getByLabel('Endpoint', { exact: true }).inputValue() !== failing.id) fail('charts link lost the endpoint');

  // --- Event catalog: groups, badges, schema, example, search, send.
  await nav(page).getByRole('link', { name: 'Event catalog' }).click();
  await heading(page, /^Event catalog/).waitFor();
  const typeArticle = (name) => page.locator(`article.event-type[data-type="${name}"]`);
  await typeArticle(input.passive_type).waitFor({ state: 'attached' });
  const badges = async (name) => (await typeArticle(name).locator('.badge').allTextContents()).join(',');
  if (await badges(input.passive_type) !== 'PASSIVE') fail(`${input.passive_type} badges: ${await badges(input.passive_type)}`);
  if (await badges(input.deprecated_type) !== 'deprecated') fail(`${input.deprecated_type} badges: ${await badges(input.deprecated_type)}`);
  if (!(await badges(input.archived_type)).includes('archived')) fail(`${input.archived_type} badges: ${await badges(input.archived_type)}`);
  const groups = await page.locator('details.group .group-name').allTextContents();
  if (!groups.includes('delivery') || !groups.includes('contact')) fail(`groups: ${groups}`);
  // Groups are folded at first (19 types); a group opens on a click.
  if (await typeArticle(input.test_type).isVisible()) fail('groups are not folded at first');
  await page.locator('details.group[data-group="contact"] > summary').click();
  const catalogType = typeArticle(input.test_type);
  await catalogType.getByText('JSON schema').click();
  const schema = JSON.parse(await catalogType.locator('[data-field=schema]').textContent());
  await catalogType.getByText('Example payload').click();
  const example = JSON.parse(await catalogType.locator('[data-field=example]').textContent());
  if (typeof schema !== 'object' || typeof example !== 'object') fail('schema or example not JSON');
  await screenshot(page, 'catalog');
  await page.getByLabel('Search event types by name').fill('merged');
  await page.locator('#catalog-count', { hasText: '1 type match' }).waitFor();
  const visible = await page.locator('article.event-type:visible').evaluateAll((a) => a.map((x) => x.dataset.type));
  if (visible.join() !== input.deprecated_type) fail(`search "merged" shows ${visible}`);
  await page.getByLabel('Search event types by name').fill('');
  await page.getByRole('button', { name: 'Expand all groups' }).click();
  await typeArticle(input.passive_type).waitFor();
  log(`catalog: ${groups.length} groups (${groups.join(', ')}); badges; search "merged" -> ${visible}`);
  const other = typeArticle(input.other_type);
  await other.getByText('Send to endpoint…').click();
  await other.getByLabel(`Endpoint for ${input.other_type}`).selectOption({ label: `${input.endpoint_url} (Orders hook)` });
  await other.getByRole('button', { name: `Send a ${input.other_type} test event` }).click();
  const fromCatalog = other.locator('article.attempt [data-field=response-status]');
  await fromCatalog.waitFor({ timeout: 30000 });
  if ((await fromCatalog.textContent()).trim() !== '200') fail(`send from the catalog: ${await fromCatalog.textContent()}`);
  log(`sent ${input.other_type} from the catalog: 200`);
  await screenshot(page, 'catalog-send');

  // Back and forward move between sections; a reload keeps the route.
  await page.goBack();
  await heading(page, 'Statistics').waitFor();
  await page.goForward();
  await heading(page, /^Event catalog/).waitFor();
  await page.reload();
  await heading(page, /^Event catalog/).waitFor();
  log('back, forward and reload keep the view');

  // --- Paging past 100 endpoints (another workspace).
  await picker.selectOption(input.many_workspace);
  await heading(page, `Endpoints — ${input.many_workspace}`).waitFor();
  const shownUrls = () => page.locator('#endpoint-table tbody tr td.url').allTextContents();
  await page.waitForFunction(() => document.querySelectorAll('#endpoint-table tbody tr').length === 100);
  const firstPage = await shownUrls();
  const nextPage = page.getByRole('button', { name: 'Next page of endpoints' });
  await nextPage.click();
  await page.waitForFunction(() => document.querySelectorAll('#endpoint-table tbody tr').length === 5);
  const secondPage = await shownUrls();
  const seen = new Set([...firstPage, ...secondPage]);
  if (seen.size !== 105 || !input.many_urls.every((url) => seen.has(url))) fail(`pages 1 and 2 list ${seen.size} of the 105 endpoints`);
  if (!(await nextPage.isDisabled())) fail('Next page enabled on the last page');
  if (await page.locator('.pager-where').textContent() !== 'Page 2') fail('not on page 2');
  await screenshot(page, 'endpoints-page-2');
  await page.getByRole('button', { name: 'Previous page of endpoints' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#endpoint-table tbody tr').length === 100);
  if ((await shownUrls()).join() !== firstPage.join()) fail('Previous page is not the first page');
  log('paging: 100 endpoints, then the other 5, then the first 100 again');
  // The pickers offer every endpoint, not only a first page.
  const pickerUrls = () => page.getByLabel('Endpoint', { exact: true }).locator('option:not([value=""])').allTextContents();
  for (const section of ['Messages', 'Statistics']) {
    await nav(page).getByRole('link', { name: section }).click();
    await heading(page, section).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('select option').length > 100);
    const offered = new Set(await pickerUrls());
    if (offered.size !== 105 || !input.many_urls.every((url) => offered.has(url))) fail(`${section}: the endpoint picker offers ${offered.size} of the 105 endpoints`);
  }
  log('the message log and statistics offer all 105 endpoints');
  await nav(page).getByRole('link', { name: 'Endpoints' }).click();
  await heading(page, `Endpoints — ${input.many_workspace}`).waitFor();

  // --- Sign out forgets the token.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await tokenField.waitFor();
  if (await page.evaluate(() => sessionStorage.getItem('ferry.token')) !== null) fail('token kept after sign-out');
  log('signed out');

  // --- A workspace key: its workspace only, chosen at once; a reload keeps
  // the tab signed in and on its route.
  await tokenField.fill(input.workspace_key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, `Endpoints — ${input.workspace}`).waitFor();
  const options = await picker.locator('option').allTextContents();
  if (options.length !== 2 || !options[1].includes(`(${input.workspace})`)) fail(`a key's workspaces: ${options}`);
  // Delete an endpoint from its own page: back to the list, without it.
  await page.locator('#endpoint-table').getByRole('link', { name: input.keyboard_url }).click();
  await heading(page, `Endpoint ${input.keyboard_url}`).waitFor();
  await page.getByRole('button', { name: 'Delete endpoint' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await heading(page, `Endpoints — ${input.workspace}`).waitFor();
  await page.locator('#status', { hasText: `${input.keyboard_url} deleted.` }).waitFor();
  if (await page.locator('#endpoint-table tbody tr', { hasText: input.keyboard_url }).count() !== 0) fail('deleted endpoint still listed');
  await nav(page).getByRole('link', { name: 'Messages' }).click();
  await heading(page, 'Messages').waitFor();
  await page.reload();
  await heading(page, 'Messages').waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await tokenField.waitFor();
  log(`signed in with a workspace key: ${options[1]}; deleted ${input.keyboard_url} from its page; a reload kept #/messages; signed out`);

  // --- The portal: the token in the fragment, then gone from the address bar.
  const portal = await context.newPage();
  current = portal;
  watch(portal);
  await portal.goto(`${input.base_url}${input.portal_path}`);
  await heading(portal, `Endpoints — ${input.workspace}`).waitFor();
  if (portal.url().includes('token')) fail(`the token is still in the address bar: ${portal.url()}`);
  const portalSections = await nav(portal).getByRole('link').allTextContents();
  if (portalSections.join('|') !== 'Endpoints|Event catalog|Messages|Statistics') fail(`portal sections: ${portalSections}`);
  for (const url of input.portal_endpoint_urls) await portal.locator('#endpoint-table tbody tr', { hasText: url }).waitFor();
  const other404 = await portal.evaluate(async (ws) => {
    const token = sessionStorage.getItem('ferry.portal-token');
    const response = await fetch(`/api/v1/workspaces/${ws}/endpoints`, { headers: { Authorization: `Bearer ${token}` } });
    return response.status;
  }, input.other_workspace);
  if (other404 !== 404) fail(`another workspace from the portal: ${other404}`);
  log(`portal: ${portal.url()}; another workspace answers ${other404}`);
  await screenshot(portal, 'portal');
  // Deleting asks first (an in-page dialog): Escape cancels and gives the
  // focus back; the row goes once confirmed.
  const doomed = portal.locator('#endpoint-table tbody tr', { hasText: input.portal_endpoint_urls[0] });
  await doomed.getByRole('button', { name: /^Delete/ }).click();
  await portal.getByRole('dialog').waitFor();
  await portal.keyboard.press('Escape');
  await portal.waitForFunction(() => !document.querySelector('dialog'));
  await portal.waitForFunction(() => document.activeElement && document.activeElement.textContent === 'Delete', null, { timeout: 5000 })
    .catch(() => {});
  const back = await focusInfo(portal);
  if (back.text !== 'Delete' || await doomed.count() !== 1) fail(`after Escape: ${JSON.stringify(back)}`);
  await doomed.getByRole('button', { name: /^Delete/ }).click();
  await portal.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await doomed.waitFor({ state: 'detached' });
  log(`deleted ${input.portal_endpoint_urls[0]} from the portal`);

  // --- The portal in an iframe of another site's page.
  const host = await context.newPage();
  current = host;
  watch(host);
  // The token the framed page sends (a framed page may be denied
  // sessionStorage: it then keeps the token in memory).
  let frameToken = null;
  host.on('request', async (request) => {
    if (!request.url().startsWith(`${input.base_url}/api/`)) return;
    const auth = (await request.allHeaders()).authorization;
    if (auth) frameToken = auth.replace(/^Bearer /, '');
  });
  await host.goto(input.frame_page);
  const frame = host.frameLocator('iframe');
  await frame.getByRole('heading', { level: 2, name: `Endpoints — ${input.workspace}` }).waitFor();
  await frame.locator('#endpoint-table tbody tr', { hasText: input.endpoint_url }).waitFor();
  await frame.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Messages' }).click();
  await frame.locator('#message-table tbody tr').first().waitFor();
  await frame.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Event catalog' }).click();
  await frame.locator(`article.event-type[data-type="${input.test_type}"]`).waitFor({ state: 'attached' });
  const inner = host.frames().find((f) => f.url().startsWith(`${input.base_url}/ui/portal`));
  if (!inner) fail(`no portal frame among ${host.frames().map((f) => f.url())}`);
  if (inner.url().includes('token')) fail(`token left in the frame's address: ${inner.url()}`);
  if (!frameToken || !frameToken.startsWith('fpt_')) fail(`the framed portal sent no portal token: ${frameToken}`);
  const fromFrame = await inner.evaluate(async ({ ws, token }) => {
    const response = await fetch(`/api/v1/workspaces/${ws}/endpoints`, { headers: { Authorization: `Bearer ${token}` } });
    return { status: response.status };
  }, { ws: input.other_workspace, token: frameToken });
  if (fromFrame.status !== 404) fail(`another workspace from the framed portal: ${JSON.stringify(fromFrame)}`);
  log(`framed portal on ${host.url()}: endpoints, messages and catalog shown; another workspace answers ${fromFrame.status}`);
  await screenshot(host, 'portal-in-iframe');

  // An altered link, and none at all, say so.
  const altered = input.portal_path.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
  const bad = await context.newPage();
  current = bad;
  await bad.goto(`${input.base_url}${altered}`);
  await bad.locator('#error').waitFor({ state: 'visible' });
  const badText = await bad.locator('#error').textContent();
  if (!badText.startsWith('401')) fail(`altered portal link: ${badText}`);
  const none = await context.newPage();
  current = none;
  await none.goto(`${input.base_url}/ui/portal`);
  await none.locator('#error').waitFor({ state: 'visible' });
  const noneText = await none.locator('#error').textContent();
  if (!noneText.includes('portal link')) fail(`portal without a link: ${noneText}`);
  log(`altered link: ${badText}; no link: ${noneText}`);

  // No page error, and nothing refused by the Content-Security-Policy (the
  // answers of 4xx the test provoked are logged by Chromium as errors too).
  const unexpected = consoleErrors.filter((text) => !/the server responded with a status of 4\d\d/.test(text));
  if (unexpected.length) fail(`console errors: ${unexpected.join(' | ')}`);
  log(`result: ${JSON.stringify(result)}`);
  log('ok');
} catch (err) {
  console.error(`FAILED: ${err && err.stack ? err.stack : err}`);
  exitCode = 1;
  if (current) {
    const shown = await current.locator('#error').textContent().catch(() => null);
    if (shown) console.error(`the page's error box: ${shown}`);
    if (consoleErrors.length) console.error(`console errors: ${consoleErrors.join(' | ')}`);
    await screenshot(current, 'failure').catch(() => {});
  }
} finally {
  await browser.close();
}
process.exit(exitCode);
