// /chat when things arrive late, against a real `hearth serve` with the tiny model: the page's
// requests are held back on their way (Playwright's routing) so that the test, not the model's
// speed, decides what comes first. Escape stops an answer from the composer but not from another
// field; an answer about a conversation the user has left (a training opt-in, the end of an
// earlier run) does not change the one they look at now.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWebFixture } from './lib/web_fixture.js';
import { assertClean } from './lib/browser.js';
import { call, conversation, hold, keptAnswers, openChat, say, settle } from './web_chat_page.js';

const T = { timeout: 180_000 };
let world;
let open;  // auth off: the machine's owner, model "tiny"
let browser;

before(async () => {
  world = await startWebFixture({ prefix: 'hearth-e2e-web-chat-timing-', users: [] });
  ({ open, browser } = world);
});

after(async () => {
  await world?.stop();
});

test('Escape stops an answer from the composer, not from a correction being written', T, async () => {
  const view = await openChat(browser, open);
  try {
    const { page } = view;
    await say(page, 'Escape check', 1);
    const answer = page.locator('[data-testid="answer"]').last();
    const input = page.getByLabel('Message', { exact: true });
    // The answer is held back on its way, so it is being written for as long as the test needs.
    let gate = await hold(page, '**/v1/chat/completions');
    await input.fill('Go on, please');
    await input.press('Enter');
    await gate.held;
    await page.getByRole('button', { name: 'Stop' }).waitFor();
    await answer.getByRole('button', { name: 'Correct this answer' }).click();
    const correction = answer.getByLabel('The answer you wanted');
    await correction.press('Escape');  // closes the correction, and only that
    await correction.waitFor({ state: 'detached' });
    await page.waitForFunction(() => document.activeElement?.textContent === 'Correct this answer');
    await page.keyboard.press('Escape');  // on the button that opened the correction
    await settle(page);
    assert.equal(await page.getByRole('button', { name: 'Stop' }).count(), 1, 'the answer is still being written');
    await gate.release('go');
    await keptAnswers(page, 2);
    await page.getByTestId('chat-announcement').filter({ hasText: 'Answer complete' }).waitFor();
    assert.equal(await page.locator('.stopped').count(), 0);

    // From the composer, Escape stops it.
    gate = await hold(page, '**/v1/chat/completions');
    await input.fill('And once more');
    await input.press('Enter');
    await gate.held;
    await input.press('Escape');
    await page.locator('.stopped').waitFor();
    await page.getByTestId('chat-announcement').filter({ hasText: 'Answer stopped' }).waitFor();
    await page.getByRole('button', { name: 'Send', exact: true }).waitFor();
    await gate.release('drop');
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('a training opt-in answered after the user opened another conversation leaves that one alone', T, async () => {
  const ids = {};
  for (const name of ['Heron opt-in race', 'Egret opt-in race']) {
    const r = await call(open, '/v1/chat/completions', {
      body: { model: 'tiny', max_tokens: 2, messages: [{ role: 'user', content: name }] } });
    assert.equal(r.status, 200, r.text);
    ids[name] = r.json.hearth.conversation_id;
  }
  const heron = ids['Heron opt-in race'];
  const egret = ids['Egret opt-in race'];
  const view = await openChat(browser, open);
  try {
    const { page } = view;
    const row = (id) => page.locator(`.conversations li[data-conversation-id="${id}"] button.open`);
    await row(heron).click();
    await page.getByRole('heading', { name: 'Heron opt-in race' }).waitFor();
    const gate = await hold(page, `**/api/conversations/${heron}`, 'PATCH');
    await page.getByLabel('Training use of this conversation').selectOption('yes');
    await gate.held;
    await row(egret).click();
    await page.getByRole('heading', { name: 'Egret opt-in race' }).waitFor();
    const answered = page.waitForResponse((r) => r.request().method() === 'PATCH');
    await gate.release('go');
    assert.equal((await answered).status(), 200);
    await settle(page);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Egret opt-in race');
    assert.equal(await page.getByLabel('Training use of this conversation').inputValue(), 'follow');
    assert.match(await page.getByTestId('privacy-state').textContent(), /\(your setting\)/);
    assert.equal((await conversation(open, heron)).training_opt_in, true);
    assert.equal((await conversation(open, egret)).training_opt_in, null);
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('the end of a run the user left does not end the answer being written now', T, async () => {
  const view = await openChat(browser, open);
  try {
    const { page } = view;
    const input = page.getByLabel('Message', { exact: true });
    // The first answer is written, but the page's reading of the kept conversation is held.
    const reading = await hold(page, (url) => /^\/api\/conversations\/\d+$/.test(url.pathname), 'GET');
    await input.fill('First run, left behind');
    await input.press('Enter');
    await reading.held;
    await page.getByRole('button', { name: 'New chat' }).click();
    await page.getByRole('heading', { name: 'New chat' }).waitFor();
    const writing = await hold(page, '**/v1/chat/completions');
    await input.fill('Second run, the one on screen');
    await input.press('Enter');
    await writing.held;
    await page.getByRole('button', { name: 'Stop' }).waitFor();
    // Now the first run ends.
    const read = page.waitForResponse((r) => /\/api\/conversations\/\d+$/.test(r.url()));
    await reading.release('go');
    await read;
    await settle(page);
    assert.equal(await page.getByRole('button', { name: 'Stop' }).count(), 1, 'the second answer can still be stopped');
    assert.equal(await page.getByTestId('chat-announcement').textContent(), '', 'nothing was announced');
    assert.equal(await page.getByTestId('thread').getByText('First run, left behind').count(), 0);
    await writing.release('go');
    await keptAnswers(page, 1);
    await page.getByTestId('chat-announcement').filter({ hasText: 'Answer complete' }).waitFor();
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});
