// What web_personal.test.js needs besides the shared helpers: API reads with a token, locators
// for a model's card, signing in while recording refused calls, and a fine-tuned version made
// quickly on the tiny model.
import assert from 'node:assert/strict';
import { assertClean, openPage, signIn } from './browser.js';
import { request, waitFor } from './util.js';

export async function apiGet(server, pathname, token) {
  const r = await request(server.url + pathname, {
    method: 'GET', headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  assert.equal(r.status, 200, `${pathname}: ${r.text}`);
  return r.json;
}

export const listed = async (server, token) => (await apiGet(server, '/api/personal-models', token)).models;
export const byName = async (server, name, token) => (await listed(server, token)).find((m) => m.custom_name === name);

export function cardOf(page, id) {
  return page.locator(`[data-testid="installed-model"][data-model-id="${id}"]`);
}

// Signs in with `token`, recording the 401 answers the page saw: only the sign-in check may get
// one (a binary whose /api/me is not public yet answers a tab without a token so).
export async function openSignedIn(browser, server, token) {
  const view = await openPage(browser, server.url, '/personal-models');
  view.refused = [];
  view.page.on('response', (r) => { if (r.status() === 401) view.refused.push(new URL(r.url()).pathname); });
  await signIn(view.page, token);
  return view;
}

export function assertCleanSignedIn(view) {
  assert.ok(view.refused.every((p) => p === '/api/me'), `refused: ${view.refused}`);
  assertClean(view.problems, { allowConsole: view.refused.length ? [/status of 401/] : [] });
}

export function modelCard(page, name) {
  return page.getByTestId('installed-model')
    .filter({ has: page.getByTestId('model-name').getByText(name, { exact: true }) });
}

// A fine-tuned version made the quick way: opted in, 105 chats each corrected, a 3-step job on
// the tiny model, deployed with force (3 steps need not beat the base). Seconds on the tiny model.
export async function deployFineTunedVersion(server, model) {
  const call = async (method, pathname, body) => {
    const r = await request(server.url + pathname, { method, body });
    assert.ok(r.status < 300, `${method} ${pathname}: ${r.status} ${r.text}`);
    return r.json;
  };
  await call('PUT', '/api/settings', { training_opt_in: true });
  for (let i = 0; i < 105; i++) {
    const a = await call('POST', '/v1/chat/completions', {
      model, messages: [{ role: 'user', content: `what colour is thing ${i}?` }], max_tokens: 2, temperature: 0 });
    await call('POST', `/api/conversations/${a.hearth.conversation_id}/messages/${a.hearth.message_id}/feedback`,
               { corrected_answer: `Thing ${i} is blue.` });
  }
  const job = await call('POST', '/api/training/start-job',
                         { model, hyperparameters: { n_epochs: 1, batch_size: 4, max_steps: 3, rank: 4 } });
  const done = await waitFor(async () => {
    const j = await apiGet(server, `/api/training/jobs/${job.id}`);
    return ['completed', 'failed', 'cancelled'].includes(j.status) && j;
  }, { timeoutMs: 120_000, intervalMs: 250 });
  assert.equal(done.status, 'completed', JSON.stringify(done));
  return call('POST', '/api/training/deploy', { job_id: job.id, force: true });
}
