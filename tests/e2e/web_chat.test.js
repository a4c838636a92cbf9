// /chat in Chromium against a real `hearth serve` with the tiny model (its answers are random
// tokens, so the tests look at structure, never at words): a chat streams and is stopped, the
// slot is free afterwards; regenerate and edit make the conversation tree the server keeps;
// feedback given in the page is what the API returns; search, delete, the training opt-in and
// the store setting; older conversations a page at a time; keyboard focus and the spoken end
// of an answer. (With authentication on: web_chat_users.test.js; Escape and answers that arrive
// after the user moved on: web_chat_timing.test.js.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWebFixture } from './lib/web_fixture.js';
import { waitFor } from './lib/util.js';
import { assertClean, screenshot } from './lib/browser.js';
import {
  call, conversation, conversations, idle, keptAnswers, openChat, say, shownId, stopWhenGrowing,
} from './web_chat_page.js';

const T = { timeout: 180_000 };
let world;
let open;  // auth off: the machine's owner, model "tiny"
let browser;

before(async () => {
  // One slot and one thread: a long answer takes long enough to be stopped, and a slot that the
  // stop did not free would block the next answer.
  world = await startWebFixture({ prefix: 'hearth-e2e-web-chat-', users: [], openEnv: { HEARTH_NUM_PARALLEL: '1', HEARTH_THREADS: '1' } });
  ({ open, browser } = world);
});

after(async () => {
  await world?.stop();
});

test('the page loads clean, picks the model and says where the chat goes', T, async () => {
  const view = await openChat(browser, open);
  try {
    const { page } = view;
    assert.equal(await page.locator('#chat-model').inputValue(), 'tiny:latest');
    assert.match(await page.getByTestId('privacy-state').textContent(), /kept on this machine.*training: no \(your setting\)/i);
    assert.ok(await page.getByRole('note').textContent(), 'the page says where its data goes');
    // Shift+Enter is a new line, not a send.
    const input = page.getByLabel('Message', { exact: true });
    await input.fill('line one');
    await input.press('Shift+Enter');
    await input.pressSequentially('line two');
    assert.equal(await input.inputValue(), 'line one\nline two');
    assert.equal(await page.locator('.message').count(), 0, 'nothing was sent');
    // The choice is remembered in this browser for this user, and only the model's name is.
    const user = await page.getByTestId('username').textContent();
    await page.locator('#chat-model').selectOption('tiny:latest');
    assert.equal(await page.evaluate((u) => localStorage.getItem(`hearth.chat.model:${u}`), user), 'tiny:latest');
    assert.deepEqual(await page.evaluate(() => Object.keys(localStorage)), [`hearth.chat.model:${user}`]);
    await page.waitForLoadState('networkidle');
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('an answer streams, grows, and is stopped; the slot is free afterwards', T, async (t) => {
  const view = await openChat(browser, open, { maxTokens: 4000 });
  try {
    const { page } = view;
    let stopped = null;
    let id;
    // A random answer can end by itself within a few tokens, and the model may finish before
    // the stop reaches the server (the page shows the answer a little after it is written):
    // then the answer is kept whole, and the stop is tried again in a new chat.
    for (let attempt = 0; attempt < 6; attempt++) {
      if (attempt) await page.getByRole('button', { name: 'New chat' }).click();
      const watching = stopWhenGrowing(page);
      await page.getByLabel('Message', { exact: true }).fill('Write a very long essay about rivers.');
      await page.getByLabel('Message', { exact: true }).press('Enter');
      stopped = await watching;
      await page.getByRole('button', { name: 'Send', exact: true }).waitFor();
      if (!stopped.clicked) continue;
      id = await shownId(page);
      const roles = (await conversation(open, id)).messages.map((m) => m.role);
      if (roles.length === 1) {
        t.diagnostic(`stopped mid-answer at attempt ${attempt + 1}`);
        break;
      }
      // Kept whole (the page shows it when it was stored before the page asked).
      stopped = null;
    }
    assert.ok(stopped?.clicked, 'an answer was stopped while the model wrote it');
    assert.ok(stopped.lengths[1] > stopped.lengths[0], `the text grew: ${stopped.lengths}`);
    await page.locator('.stopped').filter({ hasText: 'kept only if you continue' }).waitFor();
    await page.getByTestId('chat-announcement').filter({ hasText: 'Answer stopped' }).waitFor();
    assert.equal(await page.getByTestId('streaming-answer').count(), 0);
    // What arrived stays on screen.
    const kept = await page.locator('[data-testid="answer"] .bubble').textContent();
    assert.ok(kept.length >= stopped.lengths[1], `the stopped answer keeps its text (${kept.length} characters)`);
    assert.ok(await waitFor(() => idle(open), { timeoutMs: 10_000 }), 'the slot is free after the stop');
    // The question was kept; the stopped answer was not.
    const c = await conversation(open, id);
    assert.deepEqual(c.messages.map((m) => m.role), ['user']);
    assert.equal(c.messages[0].content, 'Write a very long essay about rivers.');
    // The next answer comes: nothing was left holding the only slot. The conversation goes on
    // from what the user saw, the stopped text included.
    await page.getByLabel('Longest answer (tokens)').fill('4');
    await say(page, 'A short one now.', 2);
    await page.getByTestId('chat-announcement').filter({ hasText: 'Answer complete' }).waitFor();
    const after = await conversation(open, id);
    assert.deepEqual(after.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
    assert.ok(after.messages[1].content.length >= stopped.lengths[1] / 2, 'the stopped text went with the next question');
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('regenerate and edit make the conversation tree the server keeps', T, async () => {
  const view = await openChat(browser, open);
  try {
    const { page } = view;
    await say(page, 'First question about tides', 1);
    const id = await shownId(page);
    const firstAnswer = (await conversation(open, id)).messages[1];
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await page.getByText('1 earlier answer to this question').waitFor();
    await keptAnswers(page, 1);
    let c = await conversation(open, id);
    assert.deepEqual(c.messages.map((m) => m.role), ['user', 'assistant']);
    assert.notEqual(c.messages[1].id, firstAnswer.id, 'a new answer is the current one');
    const replaced = c.alternatives.find((m) => m.id === firstAnswer.id);
    assert.ok(replaced?.regenerated, 'the first answer stays, marked regenerated');
    assert.equal(replaced.parent_id, c.messages[0].id);

    await say(page, 'Second question about waves', 2);
    // The keyboard follows the form: into it, and back to "Edit" on Cancel.
    await page.getByRole('button', { name: 'Edit this message' }).nth(1).click();
    await page.waitForFunction(() => document.activeElement?.id?.startsWith('edit-'));
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Edit this message');
    assert.equal(await page.evaluate(() => [...document.querySelectorAll('[aria-label="Edit this message"]')]
      .indexOf(document.activeElement)), 1, 'the button that opened the form');
    await page.getByRole('button', { name: 'Edit this message' }).nth(1).click();
    await page.getByLabel('Edited message').fill('Second question, edited');
    await page.getByRole('button', { name: 'Save and send' }).click();
    await page.locator('.message.user .bubble', { hasText: 'Second question, edited' }).waitFor();
    await keptAnswers(page, 2);
    assert.equal(await page.locator('.message.user .bubble', { hasText: 'about waves' }).count(), 0);
    // The old question stays visible as an earlier version of the edited one.
    await page.getByText('You edited this message (1 earlier version kept)').click();
    await page.locator('.earlier-question', { hasText: 'Second question about waves' }).waitFor();
    c = await conversation(open, id);
    assert.deepEqual(c.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
    assert.equal(c.messages[2].content, 'Second question, edited');
    assert.equal(c.messages[2].parent_id, c.messages[1].id, 'the edit goes on from the answer before it');
    const old = c.alternatives.find((m) => m.role === 'user' && m.content === 'Second question about waves');
    assert.ok(old, 'the old branch stays in the conversation');
    assert.equal(old.parent_id, c.messages[1].id);
    assert.equal(await shownId(page), id, 'still the same conversation');
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('thumbs, rating and a correction given in the page are what the API returns', T, async () => {
  const view = await openChat(browser, open);
  try {
    const { page } = view;
    await say(page, 'Name a colour', 1);
    const id = await shownId(page);
    const answer = page.locator('[data-testid="answer"]').last();
    await answer.getByRole('button', { name: 'Good answer' }).click();
    await answer.getByTestId('feedback-state').filter({ hasText: 'good answer' }).waitFor();
    await answer.getByRole('button', { name: 'Rate 4 of 5' }).click();
    await answer.getByTestId('feedback-state').filter({ hasText: 'rated 4/5' }).waitFor();
    // The correction form takes the keyboard focus, and Cancel gives it back.
    await answer.getByRole('button', { name: 'Correct this answer' }).click();
    await page.waitForFunction(() => document.activeElement?.id?.startsWith('correction-'));
    await answer.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForFunction(() => document.activeElement?.textContent === 'Correct this answer');
    await answer.getByRole('button', { name: 'Correct this answer' }).click();
    await answer.getByLabel('The answer you wanted').fill('Blue, like the sea.');
    await answer.getByRole('button', { name: 'Save correction' }).click();
    await answer.getByTestId('feedback-state').filter({ hasText: 'corrected' }).waitFor();
    assert.equal(await answer.getByTestId('feedback-state').textContent(),
                 'Your feedback: good answer · rated 4/5 · corrected');
    assert.equal(await answer.getByRole('button', { name: 'Good answer' }).getAttribute('aria-pressed'), 'true');

    const message = (await conversation(open, id)).messages[1];
    assert.equal(message.feedback.thumbs, 'up');
    assert.equal(message.feedback.rating, 4);
    assert.equal(message.feedback.corrected_answer, 'Blue, like the sea.');

    // Thumbs down replaces the thumbs only: the rating and the correction stay.
    await answer.getByRole('button', { name: 'Bad answer' }).click();
    await answer.getByTestId('feedback-state').filter({ hasText: 'bad answer' }).waitFor();
    const after = (await conversation(open, id)).messages[1].feedback;
    assert.deepEqual([after.thumbs, after.rating, after.corrected_answer], ['down', 4, 'Blue, like the sea.']);

    // A fresh page shows the kept state.
    await page.reload();
    await page.locator(`.conversations li[data-conversation-id="${id}"] button.open`).click();
    await page.getByTestId('feedback-state').filter({ hasText: 'bad answer · rated 4/5 · corrected' }).waitFor();
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('search finds a conversation by a word of its first message; delete asks, then removes it', T, async () => {
  for (const content of ['Pelicans nest on islands', 'Walruses sleep on ice']) {
    const r = await call(open, '/v1/chat/completions', {
      body: { model: 'tiny', max_tokens: 3, messages: [{ role: 'user', content }] } });
    assert.equal(r.status, 200, r.text);
  }
  const all = await conversations(open);
  const walrus = all.find((c) => c.title.startsWith('Walruses'));
  const pelican = all.find((c) => c.title.startsWith('Pelicans'));
  const view = await openChat(browser, open);
  try {
    const { page } = view;
    const list = page.getByTestId('conversation-list');
    await list.getByText('Walruses sleep on ice').waitFor();
    // The server's search (title and message text, any case).
    await page.getByLabel('Search conversations').fill('PELICANS');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="conversation-list"] li').length === 1);
    assert.equal(Number(await list.locator('li').getAttribute('data-conversation-id')), pelican.id);
    await page.getByLabel('Search conversations').fill('no-such-word');
    await page.getByText('No conversation mentions “no-such-word”.').waitFor();
    await page.getByLabel('Search conversations').fill('');
    await list.getByText('Walruses sleep on ice').waitFor();

    const row = list.locator(`li[data-conversation-id="${walrus.id}"]`);
    await row.getByRole('button', { name: /^Delete conversation Walruses/ }).click();
    await row.getByRole('button', { name: 'No' }).click();  // changing one's mind keeps it
    assert.equal((await call(open, `/api/conversations/${walrus.id}`)).status, 200);
    await row.getByRole('button', { name: /^Delete conversation Walruses/ }).click();
    await row.getByRole('group', { name: 'Delete it for good?' }).getByRole('button', { name: 'Yes' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await call(open, `/api/conversations/${walrus.id}`)).status, 404);
    assert.equal((await call(open, `/api/conversations/${pelican.id}`)).status, 200);
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('the training opt-in and the store setting are shown, changed in the page and kept by the API', T, async () => {
  const view = await openChat(browser, open);
  try {
    const { page } = view;
    await say(page, 'Opt-in check', 1);
    const id = await shownId(page);
    const state = page.getByTestId('privacy-state');
    const optIn = page.getByLabel('Training use of this conversation');
    assert.match(await state.textContent(), /used for training: no \(your setting\)/);
    await optIn.selectOption('yes');
    await state.filter({ hasText: 'used for training: yes (this conversation)' }).waitFor();
    assert.equal((await conversation(open, id)).training_opt_in, true);
    await optIn.selectOption('no');
    await state.filter({ hasText: 'used for training: no (this conversation)' }).waitFor();
    assert.equal((await conversation(open, id)).training_opt_in, false);
    await optIn.selectOption('follow');
    await state.filter({ hasText: '(your setting)' }).waitFor();
    assert.equal((await conversation(open, id)).training_opt_in, null);

    // The user's own setting, from the same bar.
    await page.getByRole('button', { name: 'Your settings' }).click();
    await page.getByLabel(/Use my kept chats to train/).check();
    await state.filter({ hasText: 'used for training: yes (your setting)' }).waitFor();
    assert.ok(await waitFor(async () => (await call(open, '/api/settings')).json.training_opt_in === true),
              'the server keeps the setting');

    // Storing off: the page says the chat is not kept, and nothing is.
    const before = (await conversations(open)).length;
    await page.getByLabel(/Keep my chats on this machine/).uncheck();
    assert.ok(await waitFor(async () => (await call(open, '/api/settings')).json.store_conversations === false));
    await page.getByRole('button', { name: 'New chat' }).click();
    await state.filter({ hasText: 'Not kept' }).waitFor();
    await page.getByLabel('Message', { exact: true }).fill('Forget this one');
    await page.getByLabel('Message', { exact: true }).press('Enter');
    await page.getByText('This answer is not kept, so it takes no feedback.').waitFor();
    assert.equal((await conversations(open)).length, before);
    await page.getByLabel(/Keep my chats on this machine/).check();
    await page.getByLabel(/Use my kept chats to train/).uncheck();
    assert.ok(await waitFor(async () => {
      const s = (await call(open, '/api/settings')).json;
      return s.store_conversations && !s.training_opt_in;
    }));
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('a conversation with Markdown, code and feedback (screenshot)', T, async () => {
  const markdown = [
    'Here is a **small** example in `python`:', '',
    '```python', 'def greet(name):', '    return f"Hello, {name}!"', '```', '',
    '- it takes a *name*', '- it returns a greeting',
  ].join('\n');
  const r = await call(open, '/v1/chat/completions', { body: {
    model: 'tiny', max_tokens: 12, messages: [
      { role: 'user', content: 'How do I write a greeting function in Python?' },
      { role: 'assistant', content: markdown },
      { role: 'user', content: 'And how do I call it?' },
    ] } });
  assert.equal(r.status, 200, r.text);
  const id = r.json.hearth.conversation_id;
  const c = await conversation(open, id);
  const seeded = c.messages.find((m) => m.role === 'assistant' && m.content === markdown);
  const fb = await call(open, `/api/conversations/${id}/messages/${seeded.id}/feedback`, {
    body: { thumbs: 'up', rating: 5 } });
  assert.equal(fb.status, 200, fb.text);

  const view = await openChat(browser, open);
  try {
    const { page } = view;
    await page.locator(`.conversations li[data-conversation-id="${id}"] button.open`).click();
    await keptAnswers(page, 2);
    const first = page.locator('[data-testid="answer"]').first();
    assert.equal(await first.locator('pre.code code').textContent(), 'def greet(name):\n    return f"Hello, {name}!"');
    assert.equal(await first.locator('strong').textContent(), 'small');
    assert.equal(await first.locator('li').count(), 2);
    assert.equal(await first.getByTestId('feedback-state').textContent(), 'Your feedback: good answer · rated 5/5');
    await screenshot(page, 'chat');
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

// Last: its many conversations would crowd the screenshot's list.
test('older conversations come a page at a time with "Show older"', T, async () => {
  const PAGE = 50;
  let total = (await call(open, '/api/conversations?limit=1000')).json.conversations.length;
  for (let n = 0; total < PAGE + 3; n++, total++) {
    const r = await call(open, '/v1/chat/completions', {
      body: { model: 'tiny', max_tokens: 1, messages: [{ role: 'user', content: `Paging filler ${n}` }] } });
    assert.equal(r.status, 200, r.text);
  }
  const all = (await call(open, '/api/conversations?limit=1000')).json.conversations.map((c) => c.id);
  assert.equal(all.length, total);
  const view = await openChat(browser, open);
  try {
    const { page } = view;
    const rows = page.locator('[data-testid="conversation-list"] li');
    const shown = () => rows.evaluateAll((lis) => lis.map((li) => Number(li.dataset.conversationId)));
    await page.getByRole('button', { name: 'Show older' }).waitFor();
    assert.deepEqual(await shown(), all.slice(0, PAGE));
    await page.getByRole('button', { name: 'Show older' }).click();
    await page.waitForFunction((n) =>
      document.querySelectorAll('[data-testid="conversation-list"] li').length === n, total);
    assert.deepEqual(await shown(), all, 'every conversation once, newest first');
    assert.equal(await page.getByRole('button', { name: 'Show older' }).count(), 0, 'nothing older is left');
    // Deleting an older one keeps the older pages on screen.
    const oldest = all[all.length - 1];
    const row = page.locator(`[data-testid="conversation-list"] li[data-conversation-id="${oldest}"]`);
    await row.getByRole('button', { name: /^Delete conversation/ }).click();
    await row.getByRole('button', { name: 'Yes' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal((await call(open, `/api/conversations/${oldest}`)).status, 404);
    await page.waitForFunction((n) =>
      document.querySelectorAll('[data-testid="conversation-list"] li').length === n, total - 1);
    assert.deepEqual(await shown(), all.slice(0, -1));
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});
