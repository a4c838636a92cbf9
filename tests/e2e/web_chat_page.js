// What the /chat tests do again and again: the API as a client sees it (to cross-check what the
// page shows), opening the page, sending a message and waiting for its kept answer, and
// stopping an answer while the model writes it.
import assert from 'node:assert/strict';
import { openPage } from './lib/browser.js';
import { request } from './lib/util.js';

// The API as a client sees it (the cross-check of what the page shows).
export async function call(server, route, { body, token, method = body === undefined ? 'GET' : 'POST' } = {}) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  return request(server.url + route, { method, body, headers });
}

export async function conversations(server, token) {
  const r = await call(server, '/api/conversations', { token });
  assert.equal(r.status, 200, r.text);
  return r.json.conversations;
}

export async function conversation(server, id, token) {
  const r = await call(server, `/api/conversations/${id}`, { token });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

// Opens /chat, waits until a model is chosen and limits answers to `maxTokens`.
export async function openChat(browser, server, { token, maxTokens = 6 } = {}) {
  const view = await openPage(browser, server.url, '/chat', { token });
  const { page } = view;
  await page.waitForFunction(() => document.querySelector('#chat-model')?.value);
  await page.getByLabel('Longest answer (tokens)').fill(String(maxTokens));
  return view;
}

// Waits until `n` kept answers are shown (each with its feedback controls) and none streams.
export async function keptAnswers(page, n) {
  await page.waitForFunction((count) =>
    document.querySelectorAll('[aria-label="Feedback on this answer"]').length === count &&
    !document.querySelector('[data-testid="streaming-answer"]'), n);
}

export async function say(page, text, answersAfter) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
  await keptAnswers(page, answersAfter);
}

// The conversation the page shows (the list's selected row).
export async function shownId(page) {
  const row = page.locator('.conversations li.selected');
  await row.waitFor();
  return Number(await row.getAttribute('data-conversation-id'));
}

export async function idle(server) {
  const r = await call(server, '/metrics');
  const value = (name) => Number(new RegExp(`^${name}\\s+(\\S+)$`, 'm').exec(r.text)?.[1]);
  return value('hearth_active_sequences') === 0 && value('hearth_queue_depth') === 0;
}

// Watches the answer being written and clicks Stop as soon as it has grown once (the tiny model
// writes thousands of tokens a second, so a round trip per look would come too late). Resolves
// to { lengths, clicked }: clicked is false when the answer ended before it could be stopped.
export function stopWhenGrowing(page) {
  return page.evaluate(() => new Promise((resolve) => {
    const lengths = [];
    let started = false;
    const look = () => {
      const bubble = document.querySelector('[data-testid="streaming-answer"] .bubble');
      if (!bubble) {
        if (started) { observer.disconnect(); resolve({ lengths, clicked: false }); }
        return;
      }
      started = true;
      const n = bubble.textContent.length - 1;  // without the cursor
      if (n > 0 && lengths[lengths.length - 1] !== n) lengths.push(n);
      if (lengths.length >= 2) {
        observer.disconnect();
        [...document.querySelectorAll('button')].find((b) => b.textContent === 'Stop').click();
        resolve({ lengths, clicked: true });
      }
    };
    const observer = new MutationObserver(look);
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  }));
}

// The models `token`'s user has installed (full names, "x:latest").
export async function modelNames(server, token) {
  const r = await call(server, '/api/tags', { token });
  assert.equal(r.status, 200, r.text);
  return r.json.models.map((m) => m.name);
}

// Installs `file` of the range server for `token`'s user unless it is already there; returns
// the model's name as the API lists it.
export async function ensureModel(server, token, files, file) {
  const stem = file.replace(/\.gguf$/, '');
  const has = (names) => names.find((n) => n.startsWith(`${stem}:`) || n === stem);
  const known = has(await modelNames(server, token));
  if (known) return known;
  const r = await call(server, '/api/pull', { token, body: { model: `${files.url}/${file}`, stream: false } });
  assert.equal(r.status, 200, r.text);
  const name = has(await modelNames(server, token));
  assert.ok(name, `${file} is installed`);
  return name;
}

// Holds the page's requests whose URL matches `pattern` (and method, when given) until
// release(): 'go' sends each on to the server, 'drop' fails it (for a request the page gave up).
// `held` resolves once the first one is held.
export async function hold(page, pattern, method) {
  let open;
  const gate = new Promise((resolve) => { open = resolve; });
  let heldOne;
  const held = new Promise((resolve) => { heldOne = resolve; });
  await page.route(pattern, async (route) => {
    if (method && route.request().method() !== method) return route.fallback();
    heldOne();
    const how = await gate;
    try {
      if (how === 'go') await route.continue();
      else await route.abort();
    } catch { /* the page gave the request up meanwhile */ }
  });
  return {
    held,
    async release(how) { open(how); await page.unroute(pattern); },
  };
}

// Lets the page run what is queued (promise callbacks, Preact's rendering) before a test looks
// at something that must NOT have changed.
export async function settle(page) {
  for (let i = 0; i < 2; i++) {
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))));
  }
}
