// Remote engines (`hearth remote`): a hub without the model routes chats to a second
// `hearth serve` that has it, through the real `openai` client. The remote dies: chats fail with a
// 503 naming it and its circuit opens (GET /api/desktop/models says unhealthy); it comes back on
// the same port: after the cooldown the circuit closes and chats work again. An engine given to
// one user is never used for another (404 model not found).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import {
  HearthServer, hearthBin, makeTempDir, synthTiny, installModel, runHearth, startServer,
  addUserWithToken,
} from './lib/hearth.js';
import { openaiClient, ollamaClient, request } from './lib/util.js';

const T = { timeout: 120_000 };
const messages = [{ role: 'user', content: 'Name three colours of the rainbow.' }];

let dir;
let remoteHome;
let remotePort;
let remote;
let hub;
let alice;  // token
let bob;    // token

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// `hearth serve` on a fixed port (startServer lets the kernel pick one), so that the remote can
// come back where the hub expects it.
async function startRemote() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HEARTH_')) env[k] = v;
  env.HEARTH_HOME = remoteHome;
  env.HEARTH_LOG = 'warn';
  const child = spawn(hearthBin(), ['serve', '--host', `127.0.0.1:${remotePort}`],
                      { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const server = new HearthServer(child, remoteHome, false);
  await server.waitListening(30_000);
  return server;
}

async function desktopModels(token) {
  const r = await request(`${hub.url}/api/desktop/models`,
                          { method: 'GET', headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, r.text);
  return r.json.models.filter((m) => m.where === 'remote');
}

async function r1Healthy(token) {
  const r1 = (await desktopModels(token)).find((m) => m.remote === 'r1' && m.name === 'tiny');
  assert.ok(r1, 'r1 is listed');
  return r1.healthy;
}

async function streamChat(token, model) {
  const stream = await openaiClient(hub.url, token).chat.completions.create({
    model, messages, max_tokens: 8, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let usage = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, usage };
}

// The status and message of a chat that fails (0 / '' when it succeeds).
async function failedChat(token, model) {
  try {
    await openaiClient(hub.url, token).chat.completions.create({ model, messages, max_tokens: 4 });
    return { status: 0, message: '' };
  } catch (e) {
    return { status: e.status, message: String(e.error?.message ?? e.message) };
  }
}

async function until(what, fn, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${what} within ${ms} ms`);
}

before(async () => {
  dir = await makeTempDir('hearth-e2e-remote-');
  remoteHome = path.join(dir, 'remote');
  const file = await synthTiny(dir);
  await installModel(remoteHome, file, 'tiny');
  await installModel(remoteHome, file, 'tiny-a');
  remotePort = await freePort();
  remote = await startRemote();

  const hubHome = path.join(dir, 'hub');
  alice = await addUserWithToken(hubHome, 'alice');
  bob = await addUserWithToken(hubHome, 'bob');
  const url = `http://127.0.0.1:${remotePort}/v1`;
  await runHearth(['remote', 'add', 'r1', '--url', url, '--models', 'tiny', '--api-key',
                   'sk-secret-remote-key'], { home: hubHome });
  await runHearth(['remote', 'add', 'ra', '--url', `${url}/`, '--models', 'tiny-a', '--user',
                   'alice'], { home: hubHome });
  const { stdout } = await runHearth(['remote', 'list'], { home: hubHome });
  assert.match(stdout, /r1\s+http:\/\/127\.0\.0\.1:\d+\/v1\s+yes\s+tiny\s+\(shared\)/);
  assert.match(stdout, /ra\s+http:\/\/127\.0\.0\.1:\d+\/v1\s+no\s+tiny-a\s+alice/);
  assert.doesNotMatch(stdout, /sk-secret/);
  hub = await startServer({
    home: hubHome,
    env: { HEARTH_REMOTE_HEALTH_INTERVAL: '1', HEARTH_REMOTE_COOLDOWN: '2' },
  });
});

after(async () => {
  await hub?.stop();
  await remote?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a chat for a model only the remote has streams through the hub', T, async () => {
  const { text, usage } = await streamChat(alice, 'tiny');
  assert.ok(text.length > 0, 'text arrived');
  assert.ok(usage, 'a usage chunk');
  assert.equal(usage.completion_tokens, 8);
  assert.ok(usage.prompt_tokens > 0, `prompt_tokens ${usage.prompt_tokens}`);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  assert.equal(await r1Healthy(bob), true);
});

test('the Ollama API reaches the remote too', T, async () => {
  const r = await ollamaClient(hub.url, bob).chat({
    model: 'tiny', messages, stream: false, options: { num_predict: 5, temperature: 0 },
  });
  assert.equal(r.message.role, 'assistant');
  assert.ok(r.message.content.length > 0);
  assert.equal(r.done, true);
  assert.equal(r.eval_count, 5);
  assert.ok(r.prompt_eval_count > 0);
});

test('a JSON schema reaches the remote engine (both APIs)', T, async () => {
  const schema = {
    type: 'object', properties: { colour: { enum: ['red', 'blue'] }, n: { type: 'integer', minimum: 1, maximum: 3 } },
    required: ['colour', 'n'], additionalProperties: false,
  };
  const check = (text) => {
    const v = JSON.parse(text);
    assert.deepEqual(Object.keys(v), ['colour', 'n'], text);
    assert.ok(['red', 'blue'].includes(v.colour) && [1, 2, 3].includes(v.n), text);
  };
  const o = await openaiClient(hub.url, bob).chat.completions.create({
    model: 'tiny', messages, temperature: 0, max_tokens: 40,
    response_format: { type: 'json_schema', json_schema: { name: 'pick', schema } },
  });
  check(o.choices[0].message.content);
  const r = await ollamaClient(hub.url, bob).chat({
    model: 'tiny', messages, stream: false, format: schema, options: { num_predict: 40, temperature: 0 },
  });
  check(r.message.content);
});

test("an engine given to one user is never used for another", T, async () => {
  const { text } = await streamChat(alice, 'tiny-a');
  assert.ok(text.length > 0);
  assert.ok((await desktopModels(alice)).some((m) => m.remote === 'ra' && m.name === 'tiny-a'));
  assert.ok(!(await desktopModels(bob)).some((m) => m.remote === 'ra'));
  const r = await failedChat(bob, 'tiny-a');
  assert.equal(r.status, 404, r.message);
});

test('a dead remote fails clearly, opens its circuit, and closes it when it is back', T,
     async () => {
  remote.child.kill('SIGKILL');  // gone at once, before health checks could open the circuit
  await remote.stop();
  remote = null;
  // Every chat fails; while the circuit is closed the answer is a 503 naming the remote.
  const first = await failedChat(bob, 'tiny');
  assert.equal(first.status, 503, first.message);
  assert.match(first.message, /remote 'r1' \(http:\/\/127\.0\.0\.1:\d+\/v1\) failed/);
  assert.doesNotMatch(first.message, /sk-secret/);
  for (let i = 0; i < 3; ++i) {
    const r = await failedChat(bob, 'tiny');
    assert.notEqual(r.status, 0, 'no chat succeeds while the remote is down');
  }
  // Three failures (chats and health checks) opened it.
  assert.equal(await r1Healthy(bob), false);
  const open = await failedChat(bob, 'tiny');
  assert.ok([404, 503].includes(open.status), `${open.status} ${open.message}`);

  remote = await startRemote();
  await until('the circuit closes again', () => r1Healthy(bob));
  const { text, usage } = await streamChat(bob, 'tiny');
  assert.ok(text.length > 0);
  assert.equal(usage.completion_tokens, 8);
});
