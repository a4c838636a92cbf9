// Driving Debian's Chromium (headless, never a downloaded browser) with playwright-core against
// `hearth serve`: a page that records what a user would not see — console errors, uncaught
// exceptions, requests that leave the server's origin — and screenshots for the README.
//
// HEARTH_CHROMIUM names another Chromium binary (default /usr/bin/chromium).
// HEARTH_SCREENSHOTS: the folder screenshots go to (`make screenshots` sets docs/screenshots);
// by default a temporary folder, so a test run never changes the committed pictures.
// HEARTH_TEST_WEB_DIR: serve the pages from a build.mjs output folder instead of the binary's
// copy (HEARTH_WEB_DIR), for working on the pages without rebuilding the binary.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.HEARTH_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run',
           '--disable-dev-shm-usage'],
  });
}

// The environment a web test's server needs (HEARTH_WEB_DIR when HEARTH_TEST_WEB_DIR is set).
export function webEnv(extra = {}) {
  const env = { ...extra };
  if (process.env.HEARTH_TEST_WEB_DIR) env.HEARTH_WEB_DIR = process.env.HEARTH_TEST_WEB_DIR;
  return env;
}

// Opens `pagePath` of the server at `baseUrl` in a fresh browser context (its own
// sessionStorage). With `token`, signs in through the page's login form first.
// Returns { page, context, problems, close() }; problems = { console, exceptions, foreign }.
export async function openPage(browser, baseUrl, pagePath, { token, viewport } = {}) {
  const origin = new URL(baseUrl).origin;
  const context = await browser.newContext({ viewport: viewport ?? { width: 1280, height: 860 },
                                             serviceWorkers: 'block' });
  const page = await context.newPage();
  const problems = { console: [], exceptions: [], foreign: [] };
  page.on('console', (m) => { if (m.type() === 'error') problems.console.push(m.text()); });
  page.on('pageerror', (e) => problems.exceptions.push(String(e)));
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(origin + '/') && !url.startsWith('data:') && !url.startsWith('blob:')) {
      problems.foreign.push(url);
    }
  });
  await page.goto(origin + pagePath);
  if (token) await signIn(page, token);
  return {
    page, context, problems,
    async close() { await context.close(); },
  };
}

// Fills the login form and waits until the page shows who is signed in.
export async function signIn(page, token) {
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('username').waitFor();
}

// Asserts that nothing went wrong behind the user's back. `allowConsole`: patterns of console
// errors the test caused on purpose (a refused token's 401, for one).
export function assertClean(problems, { allowConsole = [] } = {}) {
  const console = problems.console.filter((t) => !allowConsole.some((p) => p.test(t)));
  assert.deepEqual(problems.exceptions, [], 'uncaught exceptions in the page');
  assert.deepEqual(console, [], 'console errors in the page');
  assert.deepEqual(problems.foreign, [], 'requests that left the server\'s origin');
}

export function screenshotDir() {
  const dir = process.env.HEARTH_SCREENSHOTS || path.join(tmpdir(), 'hearth-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

// Saves a full-page PNG as NAME.png in screenshotDir().
export async function screenshot(page, name) {
  const file = path.join(screenshotDir(), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}
