// /personal-models in Chromium against `hearth serve`: the catalog's fit verdicts and reasons
// (checked against GET /api/catalog), rename in place and usage, versions with a deployed
// fine-tuned version rolled back, a download from a slow loopback server that shows its
// progress, survives a reload and completes, cancel, a failed download's reason, delete with
// confirm, and with authentication on, one user's models never shown to another. Every step is
// checked in the page and through the API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { assertClean, openPage, screenshot } from './lib/browser.js';
import { startWebFixture } from './lib/web_fixture.js';
import { startFileServer } from './lib/file_server.js';
import { startSlowFileServer } from './lib/web_personal_files.js';
import { apiGet, assertCleanSignedIn, byName, cardOf, deployFineTunedVersion, listed, modelCard, openSignedIn }
  from './lib/web_personal_helpers.js';
import { request, waitFor } from './lib/util.js';

const T = { timeout: 180_000 };
let world;
let modelFile;
let modelSize;
let open;      // auth off: the machine's owner, with tiny:latest installed
let guarded;   // auth on: alice and bob
let aliceToken;
let bobToken;
let browser;

before(async () => {
  world = await startWebFixture({ prefix: 'hearth-e2e-personal-' });
  ({ open, guarded, browser, modelFile } = world);
  ({ alice: aliceToken, bob: bobToken } = world.tokens);
  modelSize = (await stat(modelFile)).size;
});

after(async () => {
  await world?.stop();
});

test('the catalog shows this machine\'s verdict and its reasons for every model', T, async () => {
  const view = await openPage(browser, open.url, '/personal-models');
  const { page } = view;
  try {
    // The reasons quote the memory free at that moment: the page is compared with the answer it
    // got (caught on a reload), and that answer's verdicts with a fresh call of the API.
    await page.getByTestId('catalog-model').first().waitFor();  // the first load's answer is in
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/catalog?ctx=8192'));
    await page.reload();
    const catalog = await (await answered).json();
    const fresh = await apiGet(open, '/api/catalog?ctx=8192');
    assert.deepEqual(catalog.models.map((m) => [m.id, m.verdict, m.reasons.length]),
                     fresh.models.map((m) => [m.id, m.verdict, m.reasons.length]));
    assert.ok(catalog.models.length > 0);
    const cards = page.getByTestId('catalog-model');
    await cards.first().waitFor();
    assert.equal(await cards.count(), catalog.models.length, 'every catalog model is shown');
    for (const m of catalog.models) {
      const card = page.locator(`[data-testid="catalog-model"][data-id="${m.id}"]`);
      assert.equal(await card.getByTestId('fit').getAttribute('data-verdict'), m.verdict, m.id);
      assert.deepEqual(await card.getByTestId('fit-reason').allTextContents(), m.reasons, m.id);
      assert.ok(m.reasons.length > 0, `${m.id} has reasons`);
    }
    // The machine the verdicts are for.
    await page.getByRole('region', { name: 'This machine' }).waitFor();
    assert.match(await page.getByTestId('ram').textContent(), /free of/);

    // Filters: the models too big for this machine, then a search.
    await page.getByLabel('Show').selectOption('too-big');
    const tooBig = catalog.models.filter((m) => !m.fits);
    await waitFor(async () => (await cards.count()) === tooBig.length, { timeoutMs: 5000 });
    assert.equal(await cards.count(), tooBig.length);
    for (const v of await page.getByTestId('fit').evaluateAll((els) => els.map((e) => e.dataset.verdict))) {
      assert.ok(tooBig.some((m) => m.verdict === v), v);
    }
    await page.getByLabel('Show').selectOption('all');
    const target = catalog.models[catalog.models.length - 1];
    await page.getByLabel('Search').fill(target.id);
    await page.locator(`[data-testid="catalog-model"][data-id="${target.id}"]`).waitFor();
    await waitFor(async () => (await cards.count()) < catalog.models.length);
    assert.ok((await cards.count()) >= 1);

    // Another context length asks the server again: the verdicts are the server's for it.
    await page.getByLabel('Search').fill('');
    const bigAnswer = page.waitForResponse((r) => r.url().endsWith('/api/catalog?ctx=131072'));
    await page.getByLabel('Context').selectOption('131072');
    const big = await (await bigAnswer).json();
    assert.equal(big.context_length, 131072);
    const m0 = big.models[0];
    await page.locator(`[data-testid="catalog-model"][data-id="${m0.id}"] [data-testid="fit-reason"]`)
      .first().filter({ hasText: m0.reasons[0] }).waitFor();
    await page.waitForLoadState('networkidle');
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('an installed model shows its usage, is renamed in place and lists its base as current', T, async () => {
  // One chat, so that the usage figures are not all zero.
  const chat = await request(`${open.url}/api/chat`, {
    body: { model: 'tiny', stream: false, messages: [{ role: 'user', content: 'hello' }],
            options: { temperature: 0, num_predict: 4 } },
  });
  assert.equal(chat.status, 200, chat.text);
  const before = await byName(open, 'tiny:latest');
  assert.equal(before.usage.requests, 1);

  const view = await openPage(browser, open.url, '/personal-models');
  const { page } = view;
  try {
    const card = cardOf(page, before.id);
    await card.waitFor();
    assert.equal(await card.getByTestId('usage-requests').textContent(), '1');
    assert.equal(await card.getByTestId('usage-tokens').textContent(), String(before.usage.completion_tokens));

    // Escape gives up the change.
    await page.getByRole('button', { name: 'Rename tiny:latest' }).click();
    const field = page.getByLabel('New name for tiny:latest');
    await field.fill('never-saved');
    await field.press('Escape');
    await page.getByRole('button', { name: 'Rename tiny:latest' }).waitFor();
    // The keyboard is back on the Rename button.
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Rename tiny:latest',
                               null, { timeout: 5000 });
    assert.ok(await byName(open, 'tiny:latest'), 'Escape changed nothing');

    // A name the server refuses: its reason is shown and the field stays.
    await page.getByRole('button', { name: 'Rename tiny:latest' }).click();
    await field.fill('not a name!');
    await field.press('Enter');
    await card.getByRole('alert').waitFor();
    assert.ok((await card.getByRole('alert').textContent()).length > 0);
    assert.ok(await byName(open, 'tiny:latest'), 'a refused name changed nothing');

    // Enter saves.
    await field.fill('helper');
    await field.press('Enter');
    const renamed = modelCard(page, 'helper:latest');
    await renamed.waitFor();
    const row = await byName(open, 'helper:latest');
    assert.ok(row, 'the API shows the new name');
    assert.equal(row.id, before.id);
    assert.equal(await byName(open, 'tiny:latest'), undefined);

    // Versions: only the base so far, and it is the one served.
    await renamed.getByRole('button', { name: 'Versions' }).click();
    const versions = renamed.getByTestId('version');
    await versions.first().waitFor();
    assert.equal(await versions.count(), 1);
    assert.match(await versions.first().textContent(), /Base.*current/);
    const api = await apiGet(open, `/api/personal-models/${row.id}/versions`);
    assert.equal(api.served_version, 0);
    assert.deepEqual(api.versions, []);
    assertClean(view.problems, { allowConsole: [/status of 400/] });  // the refused name, on purpose
  } finally {
    await view.close();
  }
});

test('a deployed version is marked current, and rolling back (confirmed) serves the base again', T, async () => {
  const row = await byName(open, 'helper:latest');
  assert.ok(row, 'the renamed model of the test before');
  const deployed = await deployFineTunedVersion(open, 'helper');
  assert.equal(deployed.version, 1);

  const view = await openPage(browser, open.url, '/personal-models');
  const { page } = view;
  try {
    const card = cardOf(page, row.id);
    await card.getByRole('button', { name: 'Versions' }).click();
    const versions = card.getByTestId('version');
    await versions.nth(1).waitFor();
    assert.equal(await versions.count(), 2);
    assert.match(await versions.nth(0).textContent(), /Version 1.*current.*training job/);
    assert.doesNotMatch(await versions.nth(1).textContent(), /current/);
    assert.match(await card.textContent(), /fine-tuned · version 1/);
    // The usage of those chats, and of the one before the rename (usage follows the name).
    assert.equal(await card.getByTestId('usage-requests').textContent(), '106');

    // "No" changes nothing; "Yes" rolls back.
    const rollback = card.getByRole('button', { name: 'Roll helper:latest back to the base model' });
    await rollback.click();
    await card.getByRole('button', { name: 'No' }).click();
    assert.equal((await apiGet(open, `/api/personal-models/${row.id}/versions`)).served_version, 1);
    await rollback.click();
    await card.getByRole('button', { name: 'Yes' }).click();
    await versions.nth(1).filter({ hasText: 'current' }).waitFor();
    assert.match(await versions.nth(1).textContent(), /Base.*current/);
    assert.doesNotMatch(await versions.nth(0).textContent(), /current/);
    const after = await apiGet(open, `/api/personal-models/${row.id}/versions`);
    assert.equal(after.served_version, 0);
    assert.equal(after.versions.length, 1);
    await card.getByText('base model', { exact: true }).waitFor();
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

// A size in bytes as the page writes it (lib/format.ts bytes()).
function sizeAsShown(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) { n /= 1024; unit++; }
  return `${unit === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 2 : 1)} ${units[unit]}`;
}

test('a download shows its progress, goes on after a reload and completes', T, async () => {
  const files = await startSlowFileServer({ '/slow.gguf': modelFile },
                                          { bytesPerSecond: 384 * 1024, holdAt: Math.floor(modelSize / 2) });
  const view = await openPage(browser, open.url, '/personal-models');
  const { page } = view;
  try {
    await page.getByLabel('GGUF file address').fill(`${files.url}/slow.gguf`);
    await page.getByLabel('Name (optional)').fill('slow');
    await page.getByRole('button', { name: 'Download', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Downloading slow:latest' }).waitFor();
    const download = page.getByTestId('download').filter({ hasText: 'slow:latest' });
    await download.waitFor();
    const bar = download.getByRole('progressbar');
    const percent = async () => Number(await bar.getAttribute('aria-valuenow'));
    // Progress is drawn while the file still arrives (the server holds it at half).
    await waitFor(async () => (await percent()) > 0, { timeoutMs: 30_000 });
    // The speed in bytes per second (the size is known from the source's HEAD answer, so the page
    // never falls back to percent per second) and the time left.
    await download.getByTestId('download-pace')
      .filter({ hasText: /^\d+(\.\d+)? (B|KiB|MiB)\/s · about \d+ (s|min)/ }).waitFor({ timeout: 20_000 });
    await files.held;
    const seen = await percent();
    assert.ok(seen > 0 && seen < 100, `${seen} %`);
    const pending = await byName(open, 'slow:latest');
    assert.equal(pending.status, 'downloading');
    assert.ok(Math.abs(pending.model_size_gb * 1024 ** 3 - modelSize) < 1, `${pending.model_size_gb} GiB`);
    // "X of Y · N %", Y the file's size as the page writes sizes.
    const amount = await download.getByTestId('download-amount').textContent();
    const shown = /^(\d+(?:\.\d+)? (?:B|KiB|MiB)) of (\d+(?:\.\d+)? (?:B|KiB|MiB)) · (\d+) %$/.exec(amount);
    assert.ok(shown, amount);
    assert.equal(shown[2], sizeAsShown(modelSize));
    assert.ok(Number(shown[3]) > 0 && Number(shown[3]) < 100, amount);

    // The page with everything on it, for the README.
    await modelCard(page, 'helper:latest').getByRole('button', { name: 'Versions' }).click();
    await modelCard(page, 'helper:latest').getByTestId('version').first().waitFor();
    await screenshot(page, 'personal-models');

    // A reload finds the download again on the server and keeps following it.
    await page.reload();
    const again = page.getByTestId('download').filter({ hasText: 'slow:latest' });
    await again.waitFor();
    const barAgain = again.getByRole('progressbar');
    await waitFor(async () => Number(await barAgain.getAttribute('aria-valuenow')) >= seen, { timeoutMs: 10_000 });
    files.release();
    await waitFor(async () => Number(await barAgain.getAttribute('aria-valuenow')) > seen, { timeoutMs: 30_000 });
    // Done: the download leaves the list and the model is installed, here and in the API.
    const card = modelCard(page, 'slow:latest');
    await card.waitFor({ timeout: 60_000 });
    await again.waitFor({ state: 'detached' });
    const row = await byName(open, 'slow:latest');
    assert.equal(row.status, 'installed');
    assert.match(await card.textContent(), /installed/);
    assert.ok(files.requests.some((r) => r.method === 'GET'));
    assertClean(view.problems);
  } finally {
    await view.close();
    await files.close();
  }
});

test('a download is cancelled, and a model deleted, only after confirming', T, async () => {
  const files = await startSlowFileServer({ '/held.gguf': modelFile },
                                          { bytesPerSecond: 1024 * 1024, holdAt: Math.floor(modelSize / 3) });
  const view = await openPage(browser, open.url, '/personal-models');
  const { page } = view;
  try {
    await page.getByLabel('GGUF file address').fill(`${files.url}/held.gguf`);
    await page.getByLabel('Name (optional)').fill('held');
    await page.getByRole('button', { name: 'Download', exact: true }).click();
    const download = page.getByTestId('download').filter({ hasText: 'held:latest' });
    await download.waitFor();
    await files.held;
    await download.getByRole('button', { name: 'Cancel the download of held:latest' }).click();
    await download.getByRole('button', { name: 'Yes' }).click();
    await download.waitFor({ state: 'detached' });
    assert.equal(await byName(open, 'held:latest'), undefined, 'the API no longer lists it');

    const card = modelCard(page, 'slow:latest');
    await card.getByRole('button', { name: 'Delete slow:latest' }).click();
    await card.getByRole('button', { name: 'No' }).click();
    assert.ok(await byName(open, 'slow:latest'), '"No" keeps it');
    await card.getByRole('button', { name: 'Delete slow:latest' }).click();
    await card.getByRole('group').filter({ hasText: 'Delete slow:latest' }).waitFor();
    await card.getByRole('button', { name: 'Yes' }).click();
    await card.waitFor({ state: 'detached' });
    assert.equal(await byName(open, 'slow:latest'), undefined, 'the API no longer lists it');
    assert.ok(await byName(open, 'helper:latest'), 'the other model stays');
    assertClean(view.problems);
  } finally {
    await view.close();
    await files.close();
  }
});

test('a download that fails says why, offers to try again, and is removed', T, async () => {
  const files = await startFileServer({});  // every address answers 404
  const view = await openPage(browser, open.url, '/personal-models');
  const { page } = view;
  try {
    await page.getByLabel('GGUF file address').fill(`${files.url}/missing.gguf`);
    await page.getByLabel('Name (optional)').fill('missing');
    await page.getByRole('button', { name: 'Download', exact: true }).click();
    const row = await waitFor(async () => {
      const m = await byName(open, 'missing:latest');
      return m?.status === 'failed' && m;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    assert.ok(row, 'the API has the failed row');
    const card = cardOf(page, row.id);
    await card.getByRole('alert').waitFor();
    assert.equal(await card.getByRole('alert').textContent(), row.error);
    assert.match(await card.textContent(), /download failed/);
    await card.getByRole('button', { name: 'Try again' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'The download of missing:latest failed' }).waitFor();
    await card.getByRole('button', { name: 'Delete missing:latest' }).click();
    await card.getByRole('button', { name: 'Yes' }).click();
    await card.waitFor({ state: 'detached' });
    assert.equal(await byName(open, 'missing:latest'), undefined);
    assertClean(view.problems);
  } finally {
    await view.close();
    await files.close();
  }
});

test('with authentication on, each user sees only their own models', T, async () => {
  const files = await startFileServer({ '/secret.gguf': modelFile });
  try {
    const started = await request(`${guarded.url}/api/personal-models/download`, {
      headers: { Authorization: `Bearer ${aliceToken}` },
      body: { model_id: `${files.url}/secret.gguf`, custom_name: 'alices-secret' },
    });
    assert.equal(started.status, 202, started.text);
    const installed = await waitFor(async () => (await byName(guarded, 'alices-secret:latest', aliceToken))?.status === 'installed',
                                    { timeoutMs: 60_000, intervalMs: 200 });
    assert.ok(installed, 'alice\'s download finished');
  } finally {
    await files.close();
  }

  const bob = await openSignedIn(browser, guarded, bobToken);
  try {
    await bob.page.getByTestId('no-models').waitFor();
    await bob.page.getByTestId('catalog-model').first().waitFor();
    await bob.page.waitForLoadState('networkidle');
    assert.ok(!(await bob.page.content()).includes('alices-secret'), 'bob\'s page never shows alice\'s model');
    assert.deepEqual(await listed(guarded, bobToken), []);
    assertCleanSignedIn(bob);
  } finally {
    await bob.close();
  }

  const alice = await openSignedIn(browser, guarded, aliceToken);
  try {
    await modelCard(alice.page, 'alices-secret:latest').waitFor();
    assert.equal(await alice.page.getByTestId('installed-model').count(), 1);
    assertCleanSignedIn(alice);
  } finally {
    await alice.close();
  }
});
