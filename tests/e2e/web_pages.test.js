// The pages as served: content types, caching, the Content-Security-Policy, `/` for tools and
// for browsers, and in Chromium each page loading with no console error and no request leaving
// the server, with authentication off and on (login form, a refused token, sign out).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertClean, openPage, signIn } from './lib/browser.js';
import { startWebFixture } from './lib/web_fixture.js';

const PAGES = ['/chat', '/personal-models', '/training'];
const T = { timeout: 120_000 };
let world;
let open;      // auth off: the machine's owner only
let guarded;   // auth on: alice
let aliceToken;
let browser;

before(async () => {
  world = await startWebFixture({ prefix: 'hearth-e2e-web-', users: ['alice'] });
  ({ open, guarded, browser } = world);
  aliceToken = world.tokens.alice;
});

after(async () => {
  await world?.stop();
});

function scriptsOf(html) {
  return [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)].map((m) => ({ attrs: m[1], body: m[2] }));
}

test('each page is HTML with a strict policy, revalidated by its ETag', T, async () => {
  for (const page of PAGES) {
    const r = await fetch(open.url + page);
    assert.equal(r.status, 200, page);
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = r.headers.get('content-security-policy');
    assert.match(csp, /script-src 'self'(;|$)/, csp);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    const etag = r.headers.get('etag');
    assert.match(etag, /^"[^"]+"$/);
    const html = await r.text();
    const scripts = scriptsOf(html);
    assert.ok(scripts.length >= 1, `${page} names its script`);
    for (const s of scripts) {
      assert.match(s.attrs, /src="\/assets\/[^"]+\.js"/, `${page}: every script comes from /assets`);
      assert.equal(s.body.trim(), '', `${page}: no inline script`);
    }
    const again = await fetch(open.url + page, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
  }
});

test('hashed assets have their types and are cached for a year; nothing else is reachable', T, async () => {
  const html = await (await fetch(open.url + '/chat')).text();
  const js = /src="(\/assets\/[^"]+\.js)"/.exec(html)[1];
  const css = /href="(\/assets\/[^"]+\.css)"/.exec(html)[1];
  const script = await fetch(open.url + js);
  assert.equal(script.status, 200);
  assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
  // (A folder of pages being worked on, HEARTH_WEB_DIR, is always revalidated.)
  if (!process.env.HEARTH_TEST_WEB_DIR) {
    assert.equal(script.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  }
  assert.ok((await script.text()).length > 100);
  const style = await fetch(open.url + css);
  assert.equal(style.headers.get('content-type'), 'text/css; charset=utf-8');
  for (const bad of ['/assets/nothing.js', '/assets/..%2Fchat.html', '/assets/%2e%2e%2fchat.html',
                     '/assets/', '/chat.html']) {
    const r = await fetch(open.url + bad, { redirect: 'manual' });
    assert.ok(r.status === 404 || r.status === 400, `${bad}: ${r.status}`);
  }
});

test('the libraries\' licences are served beside the code built from them', T, async () => {
  const r = await fetch(open.url + '/assets/licenses.txt');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
  const text = await r.text();
  for (const lib of ['preact', 'uplot']) assert.match(text, new RegExp(`==== ${lib} \\d`), lib);
  assert.match(text, /MIT License/);
});

test('text a user or a model wrote is shown as text, never run or loaded as HTML', T, async () => {
  // A kept chat whose question is HTML with a script in an attribute and a javascript: link.
  const attack = '<img src="/x-injected" onerror="window.pwned=1"> [click](javascript:window.pwned=2) ' +
                 '<script>window.pwned=3</script>';
  const r = await fetch(open.url + '/v1/chat/completions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'tiny', max_tokens: 4, messages: [{ role: 'user', content: attack }] }),
  });
  assert.equal(r.status, 200, await r.text());
  const view = await openPage(browser, open.url, '/chat');
  try {
    const row = view.page.locator('li[data-conversation-id]').filter({ hasText: '<img' }).first();
    await row.getByRole('button').first().click();
    await view.page.locator('main').getByText('window.pwned=3').first().waitFor();
    const found = await view.page.evaluate(() => ({
      pwned: window.pwned,
      images: document.querySelectorAll('main img').length,
      scripts: document.querySelectorAll('main script').length,
      links: [...document.querySelectorAll('main a[href^="javascript:"]')].length,
    }));
    assert.deepEqual(found, { pwned: undefined, images: 0, scripts: 0, links: 0 });
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('GET / answers tools in plain text and sends a browser on to /chat', T, async () => {
  const tool = await fetch(open.url + '/');
  assert.equal(tool.status, 200);
  assert.equal(await tool.text(), 'hearth is running');
  const browserAsk = await fetch(open.url + '/', {
    redirect: 'manual',
    headers: { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
  });
  assert.equal(browserAsk.status, 302);
  assert.equal(browserAsk.headers.get('location'), '/chat');
});

test('every page loads in Chromium with no error and no request leaving the server', T, async () => {
  for (const page of PAGES) {
    const view = await openPage(browser, open.url, page);
    try {
      await view.page.getByTestId('username').waitFor();
      assert.equal(await view.page.getByTestId('username').textContent(), 'local');
      const current = view.page.locator('nav a[aria-current="page"]');
      assert.equal(await current.getAttribute('href'), page);
      assert.ok(await view.page.getByRole('note').textContent(), `${page} says where its data goes`);
      await view.page.waitForLoadState('networkidle');
      assertClean(view.problems);
    } finally {
      await view.close();
    }
  }
  // A browser typing the bare address lands on the chat.
  const view = await openPage(browser, open.url, '/');
  try {
    assert.equal(new URL(view.page.url()).pathname, '/chat');
  } finally {
    await view.close();
  }
});

test('with authentication on, a page asks for a token, refuses a wrong one and signs out', T, async () => {
  for (const page of PAGES) {
    const view = await openPage(browser, guarded.url, page);
    try {
      await view.page.getByLabel('API token').waitFor();
      assert.equal(await view.page.getByTestId('username').count(), 0);
      // A wrong token: refused with the server's reason, and the form stays.
      await view.page.getByLabel('API token').fill('hearth_' + 'A'.repeat(43));
      await view.page.getByRole('button', { name: 'Sign in' }).click();
      await view.page.getByRole('alert').waitFor();
      assert.match(await view.page.getByRole('alert').textContent(), /invalid|revoked|token|key/i);
      await signIn(view.page, aliceToken);
      assert.equal(await view.page.getByTestId('username').textContent(), 'alice');
      // The token lives in this tab's sessionStorage only: never a cookie, never the address.
      assert.equal(await view.page.evaluate(() => document.cookie), '');
      assert.ok(!view.page.url().includes(aliceToken));
      assert.equal(await view.page.evaluate(() => sessionStorage.getItem('hearth.token')), aliceToken);
      await view.page.waitForLoadState('networkidle');
      await view.page.getByRole('button', { name: 'Sign out' }).click();
      await view.page.getByLabel('API token').waitFor();
      assert.equal(await view.page.evaluate(() => sessionStorage.getItem('hearth.token')), null);
      assertClean(view.problems, { allowConsole: [/status of 401/] });
    } finally {
      await view.close();
    }
  }
});
