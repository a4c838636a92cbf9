// /personal-models' Desktops section in Chromium, against a real hub (`hearth serve`) and a real
// `hearth agent` with its own HEARTH_HOME and the tiny model installed as desk-tiny: the empty
// state's command, the agent's card (name, connected, machine, live figures read again every few
// seconds, its models, a chat routed to it counted), where each model runs (this server / the
// desktop), Revoke from the page (gone from the page and the API), and with authentication on,
// one user's desktop never shown to, nor revoked by, another.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { assertClean, openPage, screenshotDir } from './lib/browser.js';
import { installModel } from './lib/hearth.js';
import { startWebFixture } from './lib/web_fixture.js';
import { startAgentProcess } from './lib/web_desktop_helpers.js';
import { apiGet, assertCleanSignedIn, openSignedIn } from './lib/web_personal_helpers.js';
import { request, waitFor } from './lib/util.js';

const T = { timeout: 180_000 };
let world;
let browser;
const agents = [];

// A desktop: its own HEARTH_HOME under the fixture's folder with desk-tiny installed.
async function startDesktop(server, name, token) {
  const home = path.join(world.dir, `agent-${name}`);
  await installModel(home, world.modelFile, 'desk-tiny');
  const agent = await startAgentProcess({ hub: server.url, home, name, token });
  agents.push(agent);
  return agent;
}

const agentCard = (page, name) => page.getByTestId('agent').filter({ has: page.getByRole('heading', { name, exact: true }) });
// The row of "Where your models run" for a model name (with or without its :latest tag).
const placeRow = (page, model) => page.getByTestId('model-place')
  .filter({ has: page.locator('td:first-child', { hasText: new RegExp(`^${model}(:latest)?$`) }) });

before(async () => {
  world = await startWebFixture({ prefix: 'hearth-e2e-desktops-' });
  ({ browser } = world);
});

after(async () => {
  for (const a of agents) await a.stop();
  await world?.stop();
});

test('a connected desktop shows its machine, live figures and models, and Revoke disconnects it', T, async () => {
  const { open } = world;
  const view = await openPage(browser, open.url, '/personal-models');
  const { page } = view;
  let polls = 0;
  page.on('response', (r) => { if (new URL(r.url()).pathname === '/api/desktop/agents') polls++; });
  try {
    // No desktop yet: the page says how to connect one to this very server (auth off: no token).
    const help = page.getByTestId('no-agents');
    await help.waitFor();
    assert.equal(await help.locator('pre').textContent(), `hearth agent --hub ${new URL(open.url).origin}`);
    assert.equal(await placeRow(page, 'desk-tiny').count(), 0);

    const agent = await startDesktop(open, 'desk-open');
    assert.match(agent.id, /^agt_/);

    // The page finds it on its own (it reads the list every few seconds), without a reload.
    const card = agentCard(page, 'desk-open');
    await card.waitFor({ timeout: 15_000 });
    assert.equal(await card.getAttribute('data-agent-id'), agent.id);
    await card.getByTestId('agent-status').filter({ hasText: /^connected$/ }).waitFor();
    assert.match(await card.getByTestId('agent-hardware').textContent(), /\d+ cores \(\d+ threads\) · [\d.]+ [KMGT]iB RAM/);
    assert.match(await card.getByTestId('agent-models').textContent(), /desk-tiny/);

    // The first heartbeat's figures (agents report every 5 s).
    await card.getByTestId('agent-cpu').filter({ hasText: /^\d+ %$/ }).waitFor({ timeout: 20_000 });
    assert.match(await card.getByTestId('agent-memory').textContent(), /^[\d.]+ [KMGT]?i?B of [\d.]+ [KMGT]iB$/);
    assert.match(await card.getByTestId('agent-queue').textContent(), /^\d+ \/ \d+$/);
    const listed = (await apiGet(open, '/api/desktop/agents')).agents.find((a) => a.id === agent.id);
    assert.equal(listed.status, 'connected');
    assert.equal(listed.name, 'desk-open');
    assert.ok(listed.telemetry, 'the API has its telemetry too');

    // Where each model runs: desk-tiny on that desktop, tiny on this server.
    await placeRow(page, 'desk-tiny').getByTestId('model-where').filter({ hasText: "desktop 'desk-open'" }).waitFor();
    assert.match(await placeRow(page, 'tiny').getByTestId('model-where').textContent(), /this server/);

    // A chat with desk-tiny through the hub runs on the desktop: its card counts it, unreloaded.
    const chat = await request(`${open.url}/v1/chat/completions`, {
      body: { model: 'desk-tiny', messages: [{ role: 'user', content: 'hello' }], max_tokens: 8, temperature: 0 } });
    assert.equal(chat.status, 200, chat.text);
    await card.getByTestId('agent-requests').filter({ hasText: /· 1 served$/ }).waitFor({ timeout: 10_000 });

    // The figures are read again while the page is open (about every 3 s).
    const seen = polls;
    assert.ok(await waitFor(() => polls >= seen + 2, { timeoutMs: 12_000, intervalMs: 100 }),
              `the agents were read ${polls - seen} more times in 12 s`);

    await page.locator('section.desktops').screenshot({
      path: path.join(screenshotDir(), 'personal-desktops.png'), animations: 'disabled' });

    // Revoke asks first; then the desktop is gone from the page and from the hub.
    await card.getByRole('button', { name: 'Revoke desk-open' }).click();
    await card.getByRole('button', { name: 'Yes' }).click();
    await card.waitFor({ state: 'detached', timeout: 10_000 });
    await help.waitFor();
    assert.equal((await apiGet(open, '/api/desktop/agents')).agents.some((a) => a.id === agent.id), false);
    const models = (await apiGet(open, '/api/desktop/models')).models;
    assert.equal(models.some((m) => m.where === 'desktop'), false, JSON.stringify(models));
    await placeRow(page, 'desk-tiny').waitFor({ state: 'detached', timeout: 10_000 });
    // Revoked means revoked: the agent does not come back in a later read either.
    await page.waitForTimeout(4000);
    assert.equal(await agentCard(page, 'desk-open').count(), 0);
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('with authentication on, a desktop is shown to its owner only and only its owner revokes it', T, async () => {
  const { guarded } = world;
  const { alice, bob } = world.tokens;
  const agent = await startDesktop(guarded, 'alice-desk', alice);

  const aliceView = await openSignedIn(browser, guarded, alice);
  const bobView = await openSignedIn(browser, guarded, bob);
  try {
    const card = agentCard(aliceView.page, 'alice-desk');
    await card.waitFor({ timeout: 15_000 });
    await card.getByTestId('agent-status').filter({ hasText: /^connected$/ }).waitFor();
    await placeRow(aliceView.page, 'desk-tiny').getByTestId('model-where')
      .filter({ hasText: "desktop 'alice-desk'" }).waitFor();

    // Bob sees how to connect his own, with a token and where a token comes from.
    const help = bobView.page.getByTestId('no-agents');
    await help.waitFor();
    assert.equal(await help.locator('pre').textContent(), `hearth agent --hub ${new URL(guarded.url).origin} --token <token>`);
    assert.match(await help.textContent(), /hearth token create/);
    assert.equal(await agentCard(bobView.page, 'alice-desk').count(), 0);
    assert.equal(await placeRow(bobView.page, 'desk-tiny').count(), 0);
    assert.deepEqual((await apiGet(guarded, '/api/desktop/agents', bob)).agents, []);
    assert.equal((await apiGet(guarded, '/api/desktop/models', bob)).models.some((m) => m.where === 'desktop'), false);

    // Bob cannot revoke it: refused, and it stays connected for Alice.
    const refused = await request(`${guarded.url}/api/desktop/agents/${agent.id}`,
                                  { method: 'DELETE', headers: { Authorization: `Bearer ${bob}` } });
    assert.ok(refused.status === 404 || refused.status === 403, `${refused.status} ${refused.text}`);
    const still = (await apiGet(guarded, '/api/desktop/agents', alice)).agents.find((a) => a.id === agent.id);
    assert.equal(still?.status, 'connected');
    await bobView.page.waitForLoadState('networkidle');
    assertCleanSignedIn(aliceView);
    assertCleanSignedIn(bobView);
  } finally {
    await aliceView.close();
    await bobView.close();
  }
});
