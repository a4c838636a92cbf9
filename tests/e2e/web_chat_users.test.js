// /chat with authentication on, against a real `hearth serve` with the tiny model: alice and
// bob each see only their own conversations and models, also when they take turns in one
// browser (the remembered model is each user's own), and a conversation keeps to one model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { addUserWithToken, makeTempDir, startServer, synthTiny } from './lib/hearth.js';
import { assertClean, launchBrowser, openPage, signIn, webEnv } from './lib/browser.js';
import { startFileServer } from './lib/file_server.js';
import { call, conversation, conversations, ensureModel, openChat, say, shownId } from './web_chat_page.js';

const T = { timeout: 180_000 };
let dir;
let guarded;  // auth on: alice and bob
let files;
const tokens = {};
let browser;

before(async () => {
  dir = await makeTempDir('hearth-e2e-web-chat-users-');
  const model = await synthTiny(dir);
  const home = path.join(dir, 'guarded');
  tokens.alice = await addUserWithToken(home, 'alice');
  tokens.bob = await addUserWithToken(home, 'bob');
  guarded = await startServer({ home, env: webEnv() });
  files = await startFileServer({ '/alice-model.gguf': model, '/alice-second.gguf': model, '/bob-model.gguf': model });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await guarded?.stop();
  await files?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('with authentication on, bob never sees alice\'s conversation', T, async () => {
  await ensureModel(guarded, tokens.alice, files, 'alice-model.gguf');
  const alice = await openChat(browser, guarded, { token: tokens.alice });
  let aliceId;
  try {
    await say(alice.page, 'Alice private note about herons', 1);
    aliceId = await shownId(alice.page);
    assertClean(alice.problems);
  } finally {
    await alice.close();
  }
  assert.equal((await conversation(guarded, aliceId, tokens.alice)).title, 'Alice private note about herons');

  const bob = await openPage(browser, guarded.url, '/chat', { token: tokens.bob });
  try {
    const { page } = bob;
    await page.getByText('No kept conversations yet.').waitFor();
    assert.equal(await page.getByText('herons').count(), 0);
    // Bob has no model of his own, and alice's is not offered to him.
    await page.getByText('No model is installed yet').waitFor();
    assert.equal(await page.locator('#chat-model').count(), 0);
    await page.getByLabel('Search conversations').fill('herons');
    await page.getByText('No conversation mentions “herons”.').waitFor();
    assert.equal((await call(guarded, `/api/conversations/${aliceId}`, { token: tokens.bob })).status, 404);
    assert.deepEqual(await conversations(guarded, tokens.bob), []);
    assertClean(bob.problems);
  } finally {
    await bob.close();
  }
});

test('in one browser, bob never sees the model alice chose, nor chats with it', T, async () => {
  const aliceModel = await ensureModel(guarded, tokens.alice, files, 'alice-model.gguf');
  const bobModel = await ensureModel(guarded, tokens.bob, files, 'bob-model.gguf');
  const view = await openChat(browser, guarded, { token: tokens.alice });
  try {
    const { page } = view;
    await page.locator('#chat-model').selectOption(aliceModel);
    assert.equal(await page.evaluate(() => localStorage.getItem('hearth.chat.model:alice')), aliceModel);
    // From here on, every model name the picker ever shows, and every model a chat names.
    await page.evaluate(() => {
      const seen = new Set();
      window.__pickerSeen = seen;
      const look = () => document.querySelectorAll('#chat-model, #chat-model option').forEach((e) => {
        seen.add(e.tagName === 'SELECT' ? e.value : `${e.value}|${e.textContent}`);
      });
      new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    const asked = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/v1/chat/completions')) asked.push(JSON.parse(r.postData()).model);
    });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, tokens.bob);
    await page.waitForFunction((m) => document.querySelector('#chat-model')?.value === m, bobModel);
    await page.getByLabel('Longest answer (tokens)').fill('4');
    await say(page, 'Bob asks about kingfishers', 1);
    const seen = await page.evaluate(() => [...window.__pickerSeen]);
    const stem = aliceModel.replace(/:latest$/, '');
    assert.deepEqual(seen.filter((s) => s.includes(stem)), [], `bob's picker showed: ${seen}`);
    assert.deepEqual(asked, [bobModel]);
    const [bobs] = await conversations(guarded, tokens.bob);
    assert.equal((await conversation(guarded, bobs.id, tokens.bob)).model, bobModel);
    // Alice's choice is still hers.
    assert.equal(await page.evaluate(() => localStorage.getItem('hearth.chat.model:alice')), aliceModel);
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});

test('changing the model starts a new chat; the conversation names its model', T, async () => {
  const first = await ensureModel(guarded, tokens.alice, files, 'alice-model.gguf');
  const second = await ensureModel(guarded, tokens.alice, files, 'alice-second.gguf');
  const view = await openChat(browser, guarded, { token: tokens.alice, maxTokens: 4 });
  try {
    const { page } = view;
    await page.locator('#chat-model').selectOption(first);
    await say(page, 'Which model is this, first?', 1);
    const id = await shownId(page);
    const named = page.getByTestId('conversation-model');
    await named.filter({ hasText: first.replace(/:latest$/, '') }).waitFor();
    assert.match(await page.locator('#chat-model-hint').textContent(), /starts a new chat/);

    await page.locator('#chat-model').selectOption(second);
    await page.getByRole('heading', { name: 'New chat' }).waitFor();
    assert.equal(await page.locator('.message').count(), 0, 'the old conversation is no longer on screen');
    await say(page, 'And now, second?', 1);
    const other = await shownId(page);
    assert.notEqual(other, id, 'a new conversation');
    await named.filter({ hasText: second.replace(/:latest$/, '') }).waitFor();
    const before = await conversation(guarded, id, tokens.alice);
    assert.equal(before.model, first);
    assert.equal(before.messages.length, 2, 'nothing was added to the first conversation');
    assert.equal((await conversation(guarded, other, tokens.alice)).model, second);

    // Opening the first one again goes on with its own model.
    await page.locator(`.conversations li[data-conversation-id="${id}"] button.open`).click();
    await named.filter({ hasText: first.replace(/:latest$/, '') }).waitFor();
    assert.equal(await page.locator('#chat-model').inputValue(), first);
    assertClean(view.problems);
  } finally {
    await view.close();
  }
});
