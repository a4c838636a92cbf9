// /training in Chromium against a real `hearth serve` with the tiny model: the data quality
// figures match the API, export downloads the dataset, the planner's estimate shows before a job
// starts, a job started from the page draws its loss curve from the events stream and completes,
// is deployed (with "force" when the evaluation gate refuses, as it may on random weights) and
// rolled back, each step checked through the API; with the events stream cut, the page follows a
// job by reading it; with authentication off the opt-in switch works; with it on, bob never sees
// alice's jobs or data, and sets his weekly schedule.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { assertClean, openPage, screenshot } from './lib/browser.js';
import { startWebFixture } from './lib/web_fixture.js';

const T = { timeout: 300_000 };
const GOOD = 110;  // answers rated thumbs up and 5: quality 1.0, above the 0.7 threshold
const POOR = 10;   // answers rated 2: quality 0.25, not learned from
let world;
let open;      // authentication off: the machine's owner ("local")
let guarded;   // authentication on: alice and bob
let tokens;
let browser;
let aliceJob = null;

// A call to the API as `token` (none: no header); resolves to { status, json }.
async function call(server, token, method, route, body) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(server.url + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, json, text };
}

async function ok(server, token, method, route, body) {
  const r = await call(server, token, method, route, body);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${route}: ${r.status} ${r.text}`);
  return r.json;
}

// Kept conversations with feedback: `good` rated thumbs up + 5, `poor` rated 2.
async function seed(server, token, good, poor) {
  await ok(server, token, 'PUT', '/api/settings', { training_opt_in: true });
  for (let i = 0; i < good + poor; i++) {
    const answer = await ok(server, token, 'POST', '/v1/chat/completions', {
      model: 'tiny', max_tokens: 8, temperature: 0,
      messages: [{ role: 'user', content: `what colour is thing ${i}?` }],
    });
    const { conversation_id: c, message_id: m } = answer.hearth;
    const feedback = i < good ? { thumbs: 'up', rating: 5 } : { rating: 2 };
    await ok(server, token, 'POST', `/api/conversations/${c}/messages/${m}/feedback`, feedback);
  }
}

before(async () => {
  world = await startWebFixture({ prefix: 'hearth-e2e-web-training-', modelsForUsers: true,
                                  guardedEnv: { HEARTH_TRAIN_THREADS: '1' } });
  ({ open, guarded, browser, tokens } = world);
  await seed(guarded, tokens.alice, GOOD, POOR);
});

after(async () => {
  await world?.stop();
});

test('authentication off: no data yet, and the opt-in switch changes the setting', T, async () => {
  const view = await openPage(browser, open.url, '/training');
  try {
    const { page } = view;
    await page.getByRole('heading', { name: 'Your training data' }).waitFor();
    assert.equal(await page.getByTestId('username').textContent(), 'local');
    assert.match(await page.getByRole('note').textContent(), /stay on this machine/);
    assert.match(await page.getByTestId('where-training-runs').textContent(), /this machine/);
    const optIn = page.getByLabel('Use my kept conversations to train my personal models');
    assert.equal(await optIn.isChecked(), false);
    assert.equal((await ok(open, null, 'GET', '/api/settings')).training_opt_in, false);
    await page.getByText('you have not opted in').waitFor();
    // By keyboard: the switch takes focus and Space flips it.
    await optIn.focus();
    await page.keyboard.press('Space');
    // The readiness answer loses its "not opted in" message once the setting is stored.
    await page.getByText('you have not opted in').waitFor({ state: 'detached' });
    assert.equal((await ok(open, null, 'GET', '/api/settings')).training_opt_in, true);
    assert.equal(await optIn.isChecked(), true);
    // Nothing to train on: the start button waits for data.
    assert.equal(await page.getByRole('button', { name: 'Start training' }).isDisabled(), true);
    await page.getByText('No training jobs yet.').waitFor();
    await page.waitForLoadState('networkidle');
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('data quality shows what the API counts, and export downloads the dataset', T, async () => {
  const view = await openPage(browser, guarded.url, '/training', { token: tokens.alice });
  try {
    const { page } = view;
    const readiness = await ok(guarded, tokens.alice, 'GET', '/api/training/readiness');
    const tiny = readiness.models.find((m) => m.model.replace(/:latest$/, '') === 'tiny');
    assert.ok(tiny, JSON.stringify(readiness));
    assert.equal(tiny.qualifying_examples, GOOD);
    const row = page.getByTestId('quality-tiny');
    await row.waitFor();
    assert.equal(await row.getByTestId('qualifying').textContent(), String(tiny.qualifying_examples));
    assert.equal(await row.getByRole('progressbar').getAttribute('aria-valuenow'), String(Math.min(tiny.qualifying_examples, tiny.needed)));
    assert.match(await row.textContent(), /ready/);
    await page.getByRole('button', { name: 'Export training data' }).click();
    const status = page.getByRole('status').filter({ hasText: /Dataset #\d+/ });
    await status.waitFor();
    const id = Number(/Dataset #(\d+)/.exec(await status.textContent())[1]);
    const datasets = (await ok(guarded, tokens.alice, 'GET', '/api/training/datasets')).datasets;
    const made = datasets.find((d) => d.id === id);
    assert.ok(made, JSON.stringify(datasets));
    await page.getByTestId(`dataset-${id}`).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: `Download training file of dataset ${id}` }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `dataset-${id}-train.jsonl`);
    const lines = (await readFile(await download.path(), 'utf8')).split('\n').filter((l) => l.trim());
    assert.equal(lines.length, made.train_examples);
    assert.ok(JSON.parse(lines[0]).messages.length >= 2);

    // The extended readiness answer (checked last: the rest holds without it) (conversations, rated, the score histogram).
    assert.equal(readiness.conversations, GOOD + POOR, 'readiness names the kept conversations');
    assert.equal(await page.getByTestId('conversations').textContent(), String(readiness.conversations));
    assert.equal(await page.getByTestId('rated').textContent(), String(readiness.rated));
    assert.equal(await row.getByTestId('model-conversations').textContent(), String(tiny.conversations));
    assert.equal(tiny.histogram.length, 10);
    assert.equal(tiny.histogram[9], GOOD);
    assert.equal(await row.getByTestId('histogram').getAttribute('data-total'),
                 String(tiny.histogram.reduce((a, b) => a + b, 0)));

    await page.waitForLoadState('networkidle');
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

// Form controls and buttons with no name a screen reader could say (no label, no aria-label, no
// text): the page's own, not uPlot's canvas.
async function unlabelled(page) {
  return page.evaluate(() => [...document.querySelectorAll('main input, main select, main textarea, main button')]
    .filter((el) => {
      if (el.getAttribute('aria-label') || el.closest('label')) return false;
      if (el.id && document.querySelector(`label[for="${el.id}"]`)) return false;
      return !(el.tagName === 'BUTTON' && el.textContent.trim());
    })
    .map((el) => el.outerHTML.slice(0, 120)));
}

// The hyperparameters typed into the form: short, so that the job ends in seconds on one core.
async function fillSettings(page) {
  await page.getByLabel('Epochs').fill('1');
  await page.getByLabel('Learning rate').fill('0.01');
  await page.getByLabel('Adapter rank').fill('8');
  await page.getByText('More settings').click();
  await page.getByLabel('Batch size').fill('4');
  await page.getByLabel('Stop after steps').fill('20');
}
const HYPERPARAMETERS = { n_epochs: 1, learning_rate: 0.01, rank: 8, batch_size: 4, max_steps: 20 };

test('the planner\'s memory and time estimate shows before a job starts', T, async () => {
  const view = await openPage(browser, guarded.url, '/training', { token: tokens.alice });
  try {
    const { page } = view;
    await page.getByTestId('quality-tiny').waitFor();
    await fillSettings(page);
    const plan = await ok(guarded, tokens.alice, 'POST', '/api/training/plan', { model: 'tiny', hyperparameters: HYPERPARAMETERS });
    const shown = page.getByTestId('plan');
    await shown.waitFor();
    const text = await shown.textContent();
    assert.match(text, /Needs about [\d.]+ (B|KiB|MiB|GiB)/);
    assert.match(text, plan.fits ? /fits/ : /does not fit/);
    assert.match(text, new RegExp(`${plan.examples} examples`));
    assert.equal(plan.steps, 20);  // the form's "stop after steps"
    assert.match(text, /20 steps of 4 examples, adapter rank 8, learning rate 0\.01/);
    if (plan.estimated_seconds !== null) assert.match(text, /about \d+ (s|min|h)/);
    // Nothing started yet.
    assert.deepEqual((await ok(guarded, tokens.alice, 'GET', '/api/training/jobs')).jobs, []);
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('jobs started from the page draw their loss curve, complete, deploy (forced past the gate) and roll back', T, async () => {
  const view = await openPage(browser, guarded.url, '/training', { token: tokens.alice });
  try {
    const { page } = view;
    await page.getByTestId('quality-tiny').waitFor();
    await fillSettings(page);
    await page.getByRole('button', { name: 'Start training' }).click();
    const live = page.getByTestId('live-job');
    await live.waitFor();
    const id = Number(await live.getAttribute('data-job-id'));
    const listed = (await ok(guarded, tokens.alice, 'GET', '/api/training/jobs')).jobs;
    assert.equal(listed.length, 1);
    assert.equal(listed[0].id, id);
    assert.equal(listed[0].hyperparameters.requested.n_epochs, 1);
    assert.equal(listed[0].hyperparameters.requested.max_steps, 20);
    aliceJob = id;

    // The curve grows from the events stream while the job runs, then the job completes.
    const chart = page.getByTestId('loss-chart');
    await page.locator('[data-testid="loss-chart"]:not([data-points="0"])').waitFor({ timeout: 120_000 });
    await live.getByTestId('job-status').filter({ hasText: 'completed' }).waitFor({ timeout: 240_000 });
    const job = await ok(guarded, tokens.alice, 'GET', `/api/training/jobs/${id}`);
    assert.equal(job.status, 'completed');
    const curve = job.metrics.loss_curve;
    assert.ok(curve.length >= 10, `${curve.length} points`);
    await page.locator(`[data-testid="loss-chart"][data-points="${curve.length}"]`).waitFor();
    assert.equal(await chart.getAttribute('data-eval-points'), String(curve.filter((p) => typeof p.eval_loss === 'number').length));
    assert.ok(Number(await chart.getAttribute('data-eval-points')) >= 1, 'held-out points drawn');
    assert.equal(await chart.locator('canvas').count(), 1);
    assert.equal(await live.getByTestId('job-step').textContent(), `${job.metrics.step} / ${job.metrics.total_steps}`);

    // Base against tuned: the figures of the API's comparison, answers side by side.
    const comparison = live.getByTestId('comparison');
    await comparison.waitFor();
    const compared = await ok(guarded, tokens.alice, 'GET', `/api/personal-models/${job.personal_model_id}/compare?job_id=${id}`);
    assert.equal(await comparison.getByTestId('tuned-loss').textContent(), compared.eval.tuned.loss.toFixed(4));
    assert.equal(await comparison.getByTestId('tuned-answer').count(), compared.eval.samples.length);
    await screenshot(page, 'training');
    assert.deepEqual(await unlabelled(page), [], 'every control has a name');

    // Deploy: through the gate, or past it with "force" when the page says the gate refused
    // (the tiny model's random weights may well not improve).
    await live.getByRole('button', { name: 'Deploy to tiny' }).click();
    const deployed = live.getByTestId('deployed');
    const anyway = live.getByRole('button', { name: 'Deploy anyway' });
    await deployed.or(anyway).waitFor();
    if (await anyway.isVisible()) {
      assert.equal(compared.eval.better, false, 'the gate refused a job it found better');
      assert.match(await live.getByRole('alert').textContent(), /evaluation gate refused: .*force/);
      await anyway.click();
    }
    await deployed.waitFor();
    const model = `/api/personal-models/${job.personal_model_id}`;
    assert.equal((await ok(guarded, tokens.alice, 'GET', `${model}/versions`)).served_version, 1);
    assert.equal((await ok(guarded, tokens.alice, 'GET', `/api/training/jobs/${id}`)).deployed_version, 1);
    const served = page.getByTestId('served-version');
    await page.locator('[data-testid="served-version"]', { hasText: 'version 1' }).waitFor();

    // A second job, evaluated while version 1 is served; then a rollback to the base, so that
    // the gate refuses the second job for sure (it was never compared with what is served now):
    // the page says why and deploys it only when asked to anyway.
    await page.getByRole('button', { name: 'Start training' }).click();
    const second = page.locator('[data-testid="live-job"]:not([data-job-id="' + id + '"])');
    await second.waitFor();
    const id2 = Number(await second.getAttribute('data-job-id'));
    await second.getByTestId('job-status').filter({ hasText: 'completed' }).waitFor({ timeout: 240_000 });
    assert.equal((await ok(guarded, tokens.alice, 'GET', `/api/training/jobs/${id2}`)).eval.compared_with.version, 1);
    await page.getByTestId(`job-${id}`).waitFor();
    await page.getByTestId(`job-${id2}`).waitFor();

    await page.getByRole('button', { name: 'Roll back' }).click();
    await page.getByRole('button', { name: 'Yes' }).click();
    await page.locator('[data-testid="served-version"]', { hasText: 'base model' }).waitFor();
    assert.match(await served.textContent(), /version 0/);
    assert.equal((await ok(guarded, tokens.alice, 'GET', `${model}/versions`)).served_version, 0);

    await second.getByRole('button', { name: 'Deploy to tiny' }).click();
    const refusal = second.getByRole('alert');
    await refusal.waitFor();
    assert.match(await refusal.textContent(), /evaluation gate refused: .*evaluated against version 1, but version 0 is served now/);
    assert.equal((await ok(guarded, tokens.alice, 'GET', `${model}/versions`)).served_version, 0, 'a refusal deploys nothing');
    await second.getByRole('button', { name: 'Deploy anyway' }).click();
    await second.getByTestId('deployed').waitFor();
    assert.match(await second.getByTestId('deployed').textContent(), /version 2/);
    await page.locator('[data-testid="served-version"]', { hasText: 'version 2' }).waitFor();
    const afterForce = await ok(guarded, tokens.alice, 'GET', `${model}/versions`);
    assert.equal(afterForce.served_version, 2);
    assert.equal(afterForce.versions.find((v) => v.version === 2).job_id, id2);

    // And back again: the page shows what the API serves.
    await page.getByRole('button', { name: 'Roll back' }).click();
    await page.getByRole('button', { name: 'Yes' }).click();
    await page.locator('[data-testid="served-version"]:not(:has-text("version 2"))').waitFor();
    const now = (await ok(guarded, tokens.alice, 'GET', `${model}/versions`)).served_version;
    assert.ok(now < 2);
    assert.match(await served.textContent(), now === 0 ? /base model/ : new RegExp(`version ${now}`));
    await page.waitForLoadState('networkidle');
    // A refused deploy answers 409, which Chromium logs.
    assertClean(view.problems, { allowConsole: [/status of 409/] });
  } finally {
    await view.close();
  }
});

// Starts, from the page, a job long enough to be caught running (20 epochs, no step limit);
// its id and its live panel.
async function startLongJob(page) {
  await fillSettings(page);
  await page.getByLabel('Epochs').fill('20');
  await page.getByLabel('Stop after steps').fill('');
  await page.getByRole('button', { name: 'Start training' }).click();
  const started = page.locator('[data-testid="live-job"]', { has: page.getByTestId('job-status').filter({ hasText: /queued|running/ }) });
  await started.waitFor();
  const id = Number(await started.getAttribute('data-job-id'));
  return { id, live: page.locator(`[data-testid="live-job"][data-job-id="${id}"]`) };
}

test('a running job\'s curve grows from the events stream, and the job is cancelled from the page', T, async () => {
  const view = await openPage(browser, guarded.url, '/training', { token: tokens.alice });
  try {
    const { page } = view;
    await page.getByTestId('quality-tiny').waitFor();
    const { id, live } = await startLongJob(page);
    // Points drawn while the job runs, and more of them a moment later.
    await live.locator('[data-testid="loss-chart"]:not([data-points="0"]):not([data-points="1"])').waitFor({ timeout: 120_000 });
    const drawn = Number(await live.getByTestId('loss-chart').getAttribute('data-points'));
    await page.waitForFunction(
      (n) => Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points')) > n, drawn);
    const running = await ok(guarded, tokens.alice, 'GET', `/api/training/jobs/${id}`);
    assert.equal(running.status, 'running', 'the curve grew while the job ran');
    assert.ok(running.metrics.total_steps >= 100, JSON.stringify(running.metrics.total_steps));
    assert.match(await live.getByTestId('job-step').textContent(), new RegExp(` / ${running.metrics.total_steps}$`));

    await live.getByRole('button', { name: 'Cancel job' }).click();
    await live.getByRole('button', { name: 'Yes' }).click();
    await live.getByTestId('job-status').filter({ hasText: 'cancelled' }).waitFor({ timeout: 60_000 });
    const cancelled = await ok(guarded, tokens.alice, 'GET', `/api/training/jobs/${id}`);
    assert.equal(cancelled.status, 'cancelled');
    assert.ok(cancelled.metrics.step < cancelled.metrics.total_steps);
    await page.waitForLoadState('networkidle');
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('with no events stream, the page follows a running job by reading it: the curve still grows and the end shows', T, async () => {
  const view = await openPage(browser, guarded.url, '/training', { token: tokens.alice });
  try {
    const { page } = view;
    // The events stream never reaches the server: the first try is cut (as by a dropped
    // connection), the next refused as the server refuses one when too many are open. The page
    // tries again after the first, and reads the job instead after the 503.
    const cut = [];
    await page.route(/\/api\/training\/jobs\/\d+\/events/, (route) => {
      cut.push(route.request().url());
      if (cut.length === 1) return route.abort();
      return route.fulfill({ status: 503, contentType: 'application/json',
                             body: JSON.stringify({ error: 'too many event streams are open' }) });
    });
    await page.getByTestId('quality-tiny').waitFor();
    const { id, live } = await startLongJob(page);
    // The page gives the stream up after a few tries and says so.
    await live.getByTestId('following-by-polling').waitFor({ timeout: 30_000 });
    assert.equal(cut.length, 2, 'one try again after the cut, none after the 503');
    assert.equal(await live.getByRole('list', { name: 'Latest events' }).count(), 0, 'no event came by the stream');
    // Points drawn from the job as read, and more of them a moment later.
    await live.locator('[data-testid="loss-chart"]:not([data-points="0"]):not([data-points="1"])').waitFor({ timeout: 120_000 });
    const drawn = Number(await live.getByTestId('loss-chart').getAttribute('data-points'));
    await page.waitForFunction(
      ([job, n]) => Number(document.querySelector(`[data-job-id="${job}"] [data-testid="loss-chart"]`)?.getAttribute('data-points')) > n,
      [id, drawn]);
    const running = await ok(guarded, tokens.alice, 'GET', `/api/training/jobs/${id}`);
    assert.equal(running.status, 'running', 'the curve grew while the job ran');
    await live.getByTestId('job-status').filter({ hasText: 'running' }).waitFor();
    assert.match(await live.getByTestId('chart-legend').textContent(), /Latest, step \d+: training loss \d+\.\d{4}/);

    // The end of the job comes by reading it too: the badge changes and the note goes.
    await live.getByRole('button', { name: 'Cancel job' }).click();
    await live.getByRole('button', { name: 'Yes' }).click();
    await live.getByTestId('job-status').filter({ hasText: 'cancelled' }).waitFor({ timeout: 60_000 });
    await live.getByTestId('following-by-polling').waitFor({ state: 'detached' });
    const cancelled = await ok(guarded, tokens.alice, 'GET', `/api/training/jobs/${id}`);
    assert.equal(cancelled.status, 'cancelled');
    await page.locator(`[data-job-id="${id}"] [data-testid="loss-chart"][data-points="${cancelled.metrics.loss_curve.length}"]`).waitFor();
    await page.waitForLoadState('networkidle');
    assert.equal(cut.length, 2, 'the stream was not tried again while polling');
    // Chromium logs the cut stream and the 503 as failed loads.
    assertClean(view.problems, { allowConsole: [/ERR_FAILED/, /status of 503/] });
  } finally {
    await view.close();
  }
});

test('bob never sees alice\'s jobs or data; his weekly schedule is set and removed from the page', T, async () => {
  const view = await openPage(browser, guarded.url, '/training', { token: tokens.bob });
  try {
    const { page } = view;
    await page.getByRole('heading', { name: 'Your training data' }).waitFor();
    assert.equal(await page.getByTestId('username').textContent(), 'bob');
    await page.getByText('No conversations with a model yet').waitFor();
    await page.getByText('No training jobs yet.').waitFor();
    await page.getByText('No exported datasets yet.').waitFor();
    await page.getByTestId('served-version').waitFor();
    assert.match(await page.getByTestId('served-version').textContent(), /base model/);
    assert.equal(await page.getByTestId('live-job').count(), 0);
    assert.equal(await page.getByTestId('quality-tiny').count(), 0);
    // Through the API too: none of alice's jobs, datasets or job routes.
    assert.deepEqual((await ok(guarded, tokens.bob, 'GET', '/api/training/jobs')).jobs, []);
    assert.deepEqual((await ok(guarded, tokens.bob, 'GET', '/api/training/datasets')).datasets, []);
    if (aliceJob) {
      assert.equal((await call(guarded, tokens.bob, 'GET', `/api/training/jobs/${aliceJob}`)).status, 404);
      assert.doesNotMatch(await page.locator('main').textContent(), new RegExp(`#${aliceJob}\\b`));
    }
    const aliceModel = (await ok(guarded, tokens.alice, 'GET', '/api/personal-models')).models[0].id;
    const bobModel = (await ok(guarded, tokens.bob, 'GET', '/api/personal-models')).models[0].id;
    assert.notEqual(aliceModel, bobModel);
    assert.equal((await call(guarded, tokens.bob, 'GET', `/api/personal-models/${aliceModel}/versions`)).status, 404);

    // The weekly schedule (bob has no data, so no run can start from it during the test).
    const state = page.getByTestId('schedule-state');
    assert.match(await state.textContent(), /^Off\./);
    await page.getByLabel('Wednesday').check();
    await page.getByLabel('From').fill('01:30');
    await page.getByLabel('Until').fill('05:00');
    await page.getByLabel('Time zone').fill('Europe/Berlin');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.locator('[data-testid="schedule-state"]', { hasText: 'On:' }).waitFor();
    const schedule = await ok(guarded, tokens.bob, 'GET', `/api/personal-models/${bobModel}/schedule`);
    assert.equal(schedule.enabled, true);
    assert.equal(schedule.window, 'sun,wed 01:30-05:00');
    assert.equal(schedule.time_zone, 'Europe/Berlin');
    assert.ok(schedule.next_window?.start, JSON.stringify(schedule));
    assert.match(await state.textContent(), /sun,wed 01:30-05:00 \(Europe\/Berlin\)\. Next window: .+ to .+\./);
    assert.equal((await ok(guarded, tokens.alice, 'GET', `/api/personal-models/${aliceModel}/schedule`)).enabled, false);
    await page.getByRole('button', { name: 'Remove schedule' }).click();
    await page.locator('[data-testid="schedule-state"]', { hasText: 'Off.' }).waitFor();
    assert.equal((await ok(guarded, tokens.bob, 'GET', `/api/personal-models/${bobModel}/schedule`)).enabled, false);
    await page.waitForLoadState('networkidle');
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});
