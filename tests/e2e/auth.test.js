// Users and tokens: once a user exists every request needs `Authorization: Bearer <token>`, and
// each user sees only the models they installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import OpenAI from 'openai';
import { makeTempDir, synthTiny, installModel, runHearth, startServer } from './lib/hearth.js';
import { startFileServer } from './lib/file_server.js';
import { openaiClient, ollamaClient, request } from './lib/util.js';

let dir;
let server;
let files;
const tokens = {};
const T = { timeout: 60_000 };

// `hearth token create` prints the token (hearth_ + 43 base64url characters) among other text.
async function createToken(home, user) {
  const { stdout } = await runHearth(['token', 'create', '--user', user], { home });
  const m = /\bhearth_[A-Za-z0-9_-]{43}\b/.exec(stdout);
  assert.ok(m, `no token in: ${stdout}`);
  return m[0];
}

before(async () => {
  dir = await makeTempDir('hearth-e2e-auth-');
  const home = path.join(dir, 'home');
  const model = await synthTiny(dir);
  await installModel(home, model, 'tiny');  // the machine owner's ("local") model
  for (const user of ['alice', 'bob']) {
    await runHearth(['user', 'add', user], { home });
    tokens[user] = await createToken(home, user);
  }
  files = await startFileServer({ '/alice-model.gguf': await synthTiny(dir, { seed: 3, name: 'a.gguf' }) });
  server = await startServer({ home });
});

after(async () => {
  await server?.stop();
  await files?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('serve says authentication is on', T, async () => {
  assert.match(server.output, /auth:\s+Bearer token required/);
});

test('a request without a token is 401; a wrong token is an AuthenticationError', T, async () => {
  for (const route of ['/api/tags', '/v1/models']) {
    const r = await request(`${server.url}${route}`, { method: 'GET' });
    assert.equal(r.status, 401, `${route}: ${r.status} ${r.text}`);
  }
  const chat = await request(`${server.url}/v1/chat/completions`, {
    body: { model: 'tiny', messages: [{ role: 'user', content: 'hi' }] },
  });
  assert.equal(chat.status, 401);
  assert.equal(typeof chat.json?.error?.message, 'string', chat.text);
  const wrong = openaiClient(server.url, 'hearth_' + 'A'.repeat(43));
  await assert.rejects(wrong.models.list(), (e) => {
    assert.ok(e instanceof OpenAI.AuthenticationError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.status, 401);
    return true;
  });
  await assert.rejects(ollamaClient(server.url).list(), (e) => e.status_code === 401);
  // The public routes stay public.
  assert.equal((await request(`${server.url}/api/version`, { method: 'GET' })).status, 200);
  assert.equal((await fetch(`${server.url}/`, { method: 'HEAD' })).status, 200);
});

test('with a token the request is served', T, async () => {
  for (const route of ['/api/tags', '/v1/models']) {
    const r = await request(`${server.url}${route}`, {
      method: 'GET', headers: { Authorization: `Bearer ${tokens.alice}` } });
    assert.equal(r.status, 200, `${route}: ${r.status} ${r.text}`);
  }
  const models = [];
  for await (const m of openaiClient(server.url, tokens.alice).models.list()) models.push(m.id);
  assert.ok(Array.isArray(models));
  const list = await ollamaClient(server.url, tokens.bob).list();
  assert.ok(Array.isArray(list.models));
});

test('users are isolated: bob cannot see or use alice\'s model', T, async () => {
  const alice = ollamaClient(server.url, tokens.alice);
  const bob = ollamaClient(server.url, tokens.bob);
  const events = [];
  for await (const e of await alice.pull({ model: `${files.url}/alice-model.gguf`, stream: true })) {
    events.push(e);
  }
  assert.equal(events[events.length - 1].status, 'success');
  const mine = (await alice.list()).models.map((m) => m.name);
  const name = mine.find((n) => n.startsWith('alice-model'));
  assert.ok(name, `alice's models: ${mine.join(', ')}`);
  // The owner's CLI-installed model is not alice's.
  assert.ok(!mine.some((n) => n.startsWith('tiny')), `alice sees ${mine.join(', ')}`);

  const r = await openaiClient(server.url, tokens.alice).chat.completions.create({
    model: name, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, temperature: 0,
  });
  assert.ok(r.usage.completion_tokens >= 1);

  const theirs = (await bob.list()).models.map((m) => m.name);
  assert.ok(!theirs.includes(name), `bob sees alice's model: ${theirs.join(', ')}`);
  const bobModels = [];
  for await (const m of openaiClient(server.url, tokens.bob).models.list()) bobModels.push(m.id);
  assert.ok(!bobModels.includes(name));
  await assert.rejects(
    openaiClient(server.url, tokens.bob).chat.completions.create({
      model: name, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
    (e) => e instanceof OpenAI.NotFoundError);
  await assert.rejects(bob.generate({ model: name, prompt: 'hi' }), (e) => e.status_code === 404);
  await assert.rejects(bob.show({ model: name }), (e) => e.status_code === 404);
  await assert.rejects(bob.delete({ model: name }), (e) => e.status_code === 404);
  // Still alice's after bob's attempts.
  assert.ok((await alice.list()).models.some((m) => m.name === name));
});
