// Drives the dashboard (/ui) and the customer portal (/ui/portal) in a real
// Chromium through playwright-core; run by tests/integration/test_dashboard.py.
// Input: one JSON object on stdin:
//   {"base_url", "admin_token", "workspace_key", "workspace", "endpoint_url", "event_type",
//    "portal_path", "portal_endpoint_urls", "other_workspace", "screenshots",
//    "chromium"}
// Prints one line per step and the path of each screenshot ("screenshot: …");
// exits 0 when every check passed, 1 with the failure otherwise.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const input = JSON.parse(readFileSync(0, 'utf8'));
const log = (line) => console.log(line);
const fail = (message) => { throw new Error(message); };

async function screenshot(page, name) {
  const path = join(input.screenshots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  log(`screenshot: ${path}`);
}

const args = typeof process.getuid === 'function' && process.getuid() === 0 ? ['--no-sandbox'] : [];
const browser = await chromium.launch({ executablePath: input.chromium, headless: true, args });
let exitCode = 0;
let current = null;  // the page a failure is shown on
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  current = page;
  const consoleErrors = [];
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  page.setDefaultTimeout(20000);

  // --- Sign in: a wrong token shows the API's message as text.
  await page.goto(`${input.base_url}/ui`);
  await page.getByLabel('Admin token or workspace key', { exact: true }).fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const error = page.locator('#error');
  await error.waitFor({ state: 'visible' });
  const errorText = await error.textContent();
  if (!/401/.test(errorText) || !/unknown token/.test(errorText)) fail(`unexpected sign-in error: ${errorText}`);
  log(`wrong token: ${errorText}`);

  // The focused control shows it (outline of :focus-visible after a Tab).
  await page.getByLabel('Admin token or workspace key', { exact: true }).focus();
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => {
    const active = document.activeElement;
    const style = getComputedStyle(active);
    return { id: active.id, text: active.textContent, outline: `${style.outlineStyle} ${style.outlineWidth}` };
  });
  if (focused.text !== 'Sign in' || !focused.outline.startsWith('solid')) {
    fail(`after Tab from the token field: ${JSON.stringify(focused)}`);
  }
  await page.keyboard.press('Shift+Tab');

  // Keyboard only: type the token and press Enter.
  await page.getByLabel('Admin token or workspace key', { exact: true }).fill(input.admin_token);
  await page.keyboard.press('Enter');
  await page.getByLabel('Workspace', { exact: true }).waitFor({ state: 'visible' });
  if (page.url().includes(input.admin_token)) fail('the token is in the URL');
  const stored = await page.evaluate(() => sessionStorage.getItem('ferry.token'));
  if (stored !== input.admin_token) fail('the token is not in sessionStorage');
  log('signed in with the admin token');

  // --- Pick the workspace, create an endpoint.
  await page.getByLabel('Workspace', { exact: true }).selectOption(input.workspace);
  await page.getByRole('heading', { name: `Endpoints — ${input.workspace}` }).waitFor();
  await page.getByLabel('URL', { exact: true }).fill(input.endpoint_url);
  await page.getByLabel('Event types (comma-separated; empty for all)', { exact: true }).fill(`${input.event_type}, other.*`);
  await page.getByRole('button', { name: 'Create endpoint' }).click();
  const row = page.locator('#endpoint-table tbody tr', { hasText: input.endpoint_url });
  await row.waitFor();
  const rowText = await row.innerText();
  if (!rowText.includes('Enabled') || !rowText.includes(`${input.event_type}, other.*`)) fail(`row: ${rowText}`);
  log(`endpoint listed: ${rowText.replace(/\s+/g, ' ')}`);

  // A refused URL shows the API's error.
  await page.getByLabel('URL', { exact: true }).fill('ftp://example.com/x');
  await page.getByRole('button', { name: 'Create endpoint' }).click();
  await error.waitFor({ state: 'visible' });
  log(`refused URL: ${await error.textContent()}`);

  // --- Disable, enable.
  await row.getByRole('button', { name: /^Disable/ }).click();
  await row.getByText('Disabled').waitFor();
  await row.getByRole('button', { name: /^Enable/ }).click();
  await row.getByText('Enabled').waitFor();
  log('disabled and enabled again');

  // --- Send a test event and see its attempt.
  await page.getByLabel('Event type for test events', { exact: true }).selectOption(input.event_type);
  await row.getByRole('button', { name: /^Send test event/ }).click();
  const status = page.locator('#attempt-status');
  await status.waitFor({ timeout: 30000 });
  const statusText = (await status.textContent()).trim();
  if (statusText !== '200') fail(`test event attempt status: ${statusText}`);
  log(`test event attempt: status ${statusText}, latency ${await page.locator('#attempt-latency').textContent()}`);
  await screenshot(page, 'dashboard');

  // --- Sign out forgets the token.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Admin token or workspace key', { exact: true }).waitFor();
  if (await page.evaluate(() => sessionStorage.getItem('ferry.token')) !== null) fail('token kept after sign-out');
  log('signed out');

  // --- A workspace key sees its own workspace only, chosen at once; a reload
  // keeps the tab signed in.
  await page.getByLabel('Admin token or workspace key', { exact: true }).fill(input.workspace_key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const heading = page.getByRole('heading', { name: `Endpoints — ${input.workspace}` });
  await heading.waitFor();
  const options = await page.getByLabel('Workspace', { exact: true }).locator('option').allTextContents();
  if (options.length !== 2 || !options[1].includes(`(${input.workspace})`)) fail(`a key's workspaces: ${options}`);
  await page.reload();
  await heading.waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Admin token or workspace key', { exact: true }).waitFor();
  log(`signed in with a workspace key: ${options[1]}; signed out`);

  // --- The portal: the token in the fragment, then gone from the address bar.
  const portal = await context.newPage();
  current = portal;
  portal.on('pageerror', (e) => consoleErrors.push(String(e)));
  portal.setDefaultTimeout(20000);
  await portal.goto(`${input.base_url}${input.portal_path}`);
  await portal.getByRole('heading', { name: `Endpoints — ${input.workspace}` }).waitFor();
  if (portal.url().includes('token')) fail(`the token is still in the address bar: ${portal.url()}`);
  for (const url of input.portal_endpoint_urls) {
    await portal.locator('#endpoint-table tbody tr', { hasText: url }).waitFor();
  }
  const shown = await portal.locator('#endpoint-table tbody tr').count();
  if (shown !== input.portal_endpoint_urls.length) fail(`portal shows ${shown} endpoints`);
  log(`portal shows the ${shown} endpoints of ${input.workspace}; address bar: ${portal.url()}`);
  // From the page, another workspace looks missing.
  const other = await portal.evaluate(async (ws) => {
    const token = sessionStorage.getItem('ferry.portal-token');
    const response = await fetch(`/api/v1/workspaces/${ws}/endpoints`, { headers: { Authorization: `Bearer ${token}` } });
    return { status: response.status, body: await response.text() };
  }, input.other_workspace);
  if (other.status !== 404) fail(`another workspace from the portal: ${other.status} ${other.body}`);
  log(`another workspace from the portal: ${other.status}`);
  await screenshot(portal, 'portal');

  // Deleting asks first; the row goes once accepted.
  const doomed = portal.locator('#endpoint-table tbody tr', { hasText: input.portal_endpoint_urls[0] });
  portal.once('dialog', (dialog) => dialog.accept());
  await doomed.getByRole('button', { name: /^Delete/ }).click();
  await doomed.waitFor({ state: 'detached' });
  log(`deleted ${input.portal_endpoint_urls[0]} from the portal`);

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
  log('ok');
} catch (err) {
  console.error(`FAILED: ${err && err.stack ? err.stack : err}`);
  exitCode = 1;
  if (current) {
    const shown = await current.locator('#error').textContent().catch(() => null);
    if (shown) console.error(`the page's error box: ${shown}`);
    await screenshot(current, 'failure').catch(() => {});
  }
} finally {
  await browser.close();
}
process.exit(exitCode);
