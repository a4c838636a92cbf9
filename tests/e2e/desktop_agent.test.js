// The desktop connector with real processes (docs/desktop-protocol.md): `hearth serve` as the
// hub with users ada and bob, and ada's `hearth agent` (with --serve, so its own API can be
// watched) holding the tiny model as desk-tiny, which the hub itself does not have. Covers
// registration and kept credentials, chats routed through the hub with the real clients,
// cancellation, an agent killed mid-stream, users apart, a replaced connection and revocation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { openaiClient, ollamaClient } from './lib/util.js';
import { MODEL, isModel, startDesktopFixture, listAgents, hubApi, openUpgrade, openAgentSocket,
         metrics, poll } from './lib/desktop.js';

const T = { timeout: 60_000 };
let fx;
let url;
let ada;
let bob;
let home;
let agent;     // ada's agent as now running
let agentId;
let secret;    // read from its credentials file
const messages = [{ role: 'user', content: 'Name three colours of the rainbow.' }];
const long = { model: MODEL, temperature: 0, max_tokens: 4000,
               messages: [{ role: 'user', content: 'a b c d e f g' }] };  // ~2,900 greedy tokens

before(async () => {
  fx = await startDesktopFixture({ agents: 1 });
  ({ url } = fx);
  ({ ada, bob } = fx.tokens);
  [home] = fx.homes;
});

after(async () => {
  await fx?.stop();
});

async function mine(token = ada) {
  return (await listAgents(url, token)).find((a) => a.id === agentId);
}

async function waitStatus(status, timeoutMs = 10_000) {
  const a = await poll(async () => {
    const x = await mine();
    return x?.status === status ? x : null;
  }, { timeoutMs });
  assert.ok(a, `the hub does not list the agent ${status} after ${timeoutMs} ms: ` +
               `${JSON.stringify(await mine())}`);
  return a;
}

// The agent's own scheduler is idle (its /metrics, as abort.test.js watches a server).
async function agentIdle() {
  const m = await metrics(agent.url);
  assert.ok('hearth_active_sequences' in m, 'no hearth_active_sequences in the agent\'s /metrics');
  return m.hearth_active_sequences === 0 && m.hearth_queue_depth === 0 ? m : null;
}

test('first start registers with the user token, connects, and is listed with hardware and telemetry', T, async () => {
  agent = await fx.agent({ token: ada, home, name: 'laptop', serve: true });
  const c = await agent.waitConnected();
  assert.match(c.id, /^agt_[A-Za-z0-9_-]+$/);
  assert.equal(c.name, 'laptop');
  agentId = c.id;

  // Telemetry comes with the first heartbeat (every 5 s).
  const a = await poll(async () => {
    const x = await mine();
    return x?.telemetry ? x : null;
  }, { timeoutMs: 15_000 });
  assert.ok(a, `no telemetry after 15 s: ${JSON.stringify(await mine())}`);
  assert.equal(a.status, 'connected');
  assert.equal(a.name, 'laptop');
  assert.equal(typeof a.version, 'string');
  assert.ok(a.connected_at && a.last_seen, `connected_at / last_seen: ${JSON.stringify(a)}`);
  assert.ok(a.hardware?.logical_cores >= 1, `hardware: ${JSON.stringify(a.hardware)}`);
  assert.ok(a.hardware.ram_total_bytes > 0);
  const t = a.telemetry;
  assert.ok(t.memory_total > 0 && t.memory_used > 0 && t.memory_used <= t.memory_total, JSON.stringify(t));
  assert.equal(typeof t.cpu_percent, 'number');
  assert.ok(Array.isArray(t.gpus) && Array.isArray(t.loaded_models), JSON.stringify(t));
  for (const k of ['queue', 'active']) assert.equal(typeof t[k], 'number', `telemetry.${k}`);
  const m = a.models.find((x) => isModel(x.name));
  assert.ok(m, `models: ${JSON.stringify(a.models)}`);
  assert.match(m.digest, /^sha256:[0-9a-f]{64}$/);
  assert.ok(m.size > 0);
  assert.equal(a.in_flight, 0);
  assert.equal(a.served, 0);

  const models = await hubApi(url, '/api/desktop/models', { token: ada });
  assert.equal(models.status, 200, models.text);
  const entry = models.json.models.find((x) => isModel(x.name) && x.where === 'desktop');
  assert.ok(entry, `desk-tiny is not listed "desktop": ${models.text}`);
  assert.deepEqual(entry.agent, { id: agentId, name: 'laptop' });
  // The clients' own model lists show it too, owned by the desktop; bob's show nothing of it.
  const listed = await openaiClient(url, ada).models.list();
  const own = listed.data.find((x) => isModel(x.id));
  assert.ok(own, `openai models.list() lacks desk-tiny: ${JSON.stringify(listed.data)}`);
  assert.equal(own.owned_by, 'desktop:laptop');
  const tags = await ollamaClient(url, ada).list();
  assert.ok(tags.models.some((x) => isModel(x.name)), JSON.stringify(tags.models));
  const bobs = await openaiClient(url, bob).models.list();
  assert.ok(!bobs.data.some((x) => isModel(x.id)), JSON.stringify(bobs.data));
  // Under local-only the hub lists only its own models.
  const localOnly = await hubApi(url, '/v1/models', { token: ada, headers: { 'X-Hearth-Route': 'local-only' } });
  assert.ok(!localOnly.json.data.some((x) => isModel(x.id)), localOnly.text);

  // The credentials: the agent's secret, mode 0600; the user's token is not kept.
  const file = path.join(home, 'agent', 'credentials.json');
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const text = await readFile(file, 'utf8');
  assert.ok(text.includes(agentId), text);
  secret = /hagent_[A-Za-z0-9_-]+/.exec(text)?.[0];
  assert.ok(secret, 'no hagent_ secret in credentials.json');
  assert.ok(!text.includes(ada), 'credentials.json keeps the user\'s API token');
  // The secret is never printed nor returned.
  assert.ok(!agent.output.includes(secret), 'the agent printed its secret');
  assert.ok(!fx.hub.output.includes(secret), 'the hub logged the agent\'s secret');
  const listing = await hubApi(url, '/api/desktop/agents', { token: ada });
  assert.ok(!listing.text.includes(secret), 'GET /api/desktop/agents returns the secret');
});

test('a restart without --token reconnects with the kept credentials', T, async () => {
  await agent.stop();
  await waitStatus('disconnected');
  agent = await fx.agent({ home, name: 'laptop', serve: true });
  const c = await agent.waitConnected();
  assert.equal(c.id, agentId);
  const all = await listAgents(url, ada);
  assert.equal(all.length, 1, `a second agent appeared: ${JSON.stringify(all)}`);
  await waitStatus('connected');
});

test('chats through the hub (openai streaming and not, ollama, /api/desktop/inference) are the agent\'s and are kept', T, async () => {
  const client = openaiClient(url, ada);
  const stream = await client.chat.completions.create({
    model: MODEL, messages, max_tokens: 24, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  const finishes = [];
  let usage = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(text.length > 0, 'no text streamed');
  assert.equal(finishes.length, 1, `finish reasons: ${finishes}`);
  assert.ok(['stop', 'length'].includes(finishes[0]));
  assert.ok(usage?.completion_tokens >= 1 && usage.completion_tokens <= 24, JSON.stringify(usage));

  // The agent's own greedy answer, asked directly: the hub relays it unchanged.
  const direct = await openaiClient(agent.url).chat.completions.create({
    model: MODEL, messages, max_tokens: 24, temperature: 0,
  });
  assert.equal(text, direct.choices[0].message.content);

  const plain = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 24,
                                                       temperature: 0 });
  assert.equal(plain.choices[0].message.content, text);
  assert.equal(plain.usage.completion_tokens, usage.completion_tokens);
  assert.match(plain.model, /^desk-tiny/);

  // Ollama's /api/chat through the hub equals the same request to the agent itself.
  const ask = { model: MODEL, messages, stream: true, options: { temperature: 0, num_predict: 16 } };
  const collect = async (c) => {
    const parts = [];
    for await (const p of await c.chat(ask)) parts.push(p);
    return parts;
  };
  const viaHub = await collect(ollamaClient(url, ada));
  assert.equal(viaHub.at(-1).done, true);
  assert.ok(viaHub.at(-1).eval_count >= 1, JSON.stringify(viaHub.at(-1)));
  const ollamaText = viaHub.map((p) => p.message?.content ?? '').join('');
  const mirror = (await collect(ollamaClient(agent.url))).map((p) => p.message?.content ?? '').join('');
  assert.equal(ollamaText, mirror);
  // The connector's own route takes /api/chat's body too.
  const inference = await hubApi(url, '/api/desktop/inference', { token: ada, method: 'POST',
                                                                   body: { ...ask, stream: false } });
  assert.equal(inference.status, 200, inference.text);
  assert.equal(inference.json.done, true, inference.text);
  assert.equal(inference.json.message.content, ollamaText);

  // The hub keeps the conversation, under the model name the client used.
  const kept = await poll(async () => {
    const r = await hubApi(url, '/api/conversations', { token: ada });
    assert.equal(r.status, 200, r.text);
    const list = r.json.conversations.filter((c) => isModel(c.model));
    return list.length >= 3 ? list : null;
  }, { timeoutMs: 5000 });
  assert.ok(kept, 'the hub did not keep the three routed chats');
  const answers = [];
  for (const c of kept) {
    const r = await hubApi(url, `/api/conversations/${c.id}`, { token: ada });
    assert.equal(r.status, 200, r.text);
    for (const m of r.json.messages) if (m.role === 'assistant') answers.push(m.content);
  }
  assert.ok(answers.includes(text), `no kept answer equals the streamed text: ${JSON.stringify(answers)}`);
  const others = await hubApi(url, '/api/conversations', { token: bob });
  assert.deepEqual(others.json.conversations, []);
  assert.ok((await mine()).served >= 3, `served: ${(await mine()).served}`);
});

test('X-Hearth-Route picks where a chat runs; a bad value is a 400 naming the header', T, async () => {
  const body = { model: MODEL, messages, max_tokens: 4, temperature: 0 };
  const ask = (route) => hubApi(url, '/v1/chat/completions', {
    token: ada, method: 'POST', body, headers: { 'X-Hearth-Route': route } });
  const desk = await ask('desktop-only');
  assert.equal(desk.status, 200, desk.text);
  const local = await ask('local-only');  // the hub itself has no desk-tiny
  assert.equal(local.status, 404, local.text);
  const bad = await ask('anywhere');
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.text, /X-Hearth-Route/i);
});

test('aborting a routed stream stops the agent\'s generation', T, async () => {
  const full = await openaiClient(agent.url).chat.completions.create(long);
  const fullTokens = full.usage.completion_tokens;
  const idleBefore = await poll(agentIdle);
  assert.ok(idleBefore, 'the agent is busy before the test');

  const controller = new AbortController();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', signal: controller.signal,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ada}` },
    body: JSON.stringify({ ...long, stream: true }),
  });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  let received = '';
  while (!received.includes('"content"')) {
    const { value, done } = await reader.read();
    assert.ok(!done, 'the stream ended before any content');
    received += new TextDecoder().decode(value);
  }
  controller.abort();
  await assert.rejects(reader.read(), /abort/i);

  const idleAfter = await poll(agentIdle, { timeoutMs: 5000 });
  assert.ok(idleAfter, `the agent still generates after the abort: ${JSON.stringify(await metrics(agent.url))}`);
  const generated = idleAfter.hearth_generated_tokens_total - idleBefore.hearth_generated_tokens_total;
  if (fullTokens >= 400) {
    assert.ok(generated < fullTokens / 2,
              `the aborted request went on generating on the agent: ${generated} of ${fullTokens} tokens`);
  }
  const a = await poll(async () => ((await mine()).in_flight === 0 ? true : null), { timeoutMs: 5000 });
  assert.ok(a, `in_flight stays ${(await mine()).in_flight}`);
});

test('an agent killed mid-stream ends the client\'s stream with an error; a restart serves again', T, async () => {
  const client = openaiClient(url, ada);
  const stream = await client.chat.completions.create({ ...long, stream: true });
  let killedAt = null;
  let error = null;
  try {
    for await (const chunk of stream) {
      if (killedAt === null && chunk.choices[0]?.delta?.content) {
        killedAt = performance.now();
        agent.kill('SIGKILL');
      }
    }
  } catch (e) {
    error = e;
  }
  assert.ok(killedAt !== null, 'no content came before the stream ended');
  assert.ok(error, 'the stream ended normally although its agent was killed');
  const ms = performance.now() - killedAt;
  assert.ok(ms < 5000, `the error came ${Math.round(ms)} ms after the kill`);
  assert.match(error.message, /laptop|agent|desktop/i, `the error does not name the agent: ${error.message}`);

  const gone = await waitStatus('disconnected');
  assert.equal(gone.in_flight, 0);

  agent = await fx.agent({ home, name: 'laptop', serve: true });
  assert.equal((await agent.waitConnected()).id, agentId);
  const r = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 8, temperature: 0 });
  assert.ok(r.usage.completion_tokens >= 1);
});

test('another user sees no agent, cannot chat with its model, revoke it or connect as it', T, async () => {
  const connections = agent.connections().length;
  assert.deepEqual(await listAgents(url, bob), []);
  const models = await hubApi(url, '/api/desktop/models', { token: bob });
  assert.equal(models.status, 200, models.text);
  assert.ok(!models.json.models.some((m) => isModel(m.name)), models.text);

  await assert.rejects(openaiClient(url, bob).chat.completions.create({ model: MODEL, messages, max_tokens: 4 }),
                       (e) => e.status === 404);
  const routes = [
    ['DELETE', `/api/desktop/agents/${agentId}`],
    ['POST', `/api/desktop/agents/${agentId}/models`, { model: 'qwen:0.5b' }],
    ['DELETE', `/api/desktop/agents/${agentId}/models/${MODEL}`],
  ];
  for (const [method, route, body] of routes) {
    const r = await hubApi(url, route, { token: bob, method, body });
    assert.equal(r.status, 404, `${method} ${route} as bob: ${r.status} ${r.text}`);
  }

  const refusals = [
    ['bob\'s token', { 'X-Hearth-Agent': agentId, Authorization: `Bearer ${bob}` }],
    ['no credentials', { 'X-Hearth-Agent': agentId }],
    ['a wrong secret', { 'X-Hearth-Agent': agentId, Authorization: `Bearer hagent_${'A'.repeat(43)}` }],
    ['an unknown agent', { 'X-Hearth-Agent': 'agt_unknown', Authorization: `Bearer ${secret}` }],
  ];
  for (const [what, headers] of refusals) {
    const r = await openUpgrade(url, headers);
    assert.equal(r.status, 401, `/ws/desktop with ${what}: ${r.status} ${r.text}`);
  }
  // A page of a foreign origin cannot open it even with the right secret.
  const page = await openUpgrade(url, { 'X-Hearth-Agent': agentId, Authorization: `Bearer ${secret}`,
                                        Origin: 'https://evil.example' });
  assert.equal(page.status, 403, `/ws/desktop from a foreign origin: ${page.status} ${page.text}`);

  assert.equal(agent.connections().length, connections, 'the refused attempts disturbed the agent');
  assert.equal((await mine()).status, 'connected');
});

test('a second connection of the agent replaces the first; the agent takes its place back', T, async () => {
  const hello = { type: 'hello', protocol: 1, name: 'laptop', version: 'e2e', hardware: {}, models: [] };
  for (const [what, auth] of [['its secret', secret], ['ada\'s API token', ada]]) {
    const n = agent.connections().length;
    const from = agent.output.length;
    const ws = await openAgentSocket(url, { 'X-Hearth-Agent': agentId, Authorization: `Bearer ${auth}` });
    ws.send(hello);
    const welcome = await ws.next();
    assert.equal(welcome.type, 'welcome', `with ${what}: ${JSON.stringify(welcome)}`);
    assert.equal(welcome.agent_id, agentId);
    assert.equal(welcome.protocol, 1);
    // The agent's connection is closed; it says so, comes back, and replaces this one in turn.
    await agent.waitOutput(/disconnected from \S+: .*; retrying in [\d.]+s/, { from, timeoutMs: 10_000 });
    await agent.waitConnected({ count: n + 1, timeoutMs: 20_000 });
    let m;
    do m = await ws.next(20_000); while (!('close' in m));
    ws.end();
  }
  await waitStatus('connected');
  const r = await openaiClient(url, ada).chat.completions.create({ model: MODEL, messages, max_tokens: 4 });
  assert.ok(r.usage.completion_tokens >= 1);
});

test('a malformed message closes the connection with a policy violation and the reason', T, async () => {
  const n = agent.connections().length;
  const ws = await openAgentSocket(url, { 'X-Hearth-Agent': agentId, Authorization: `Bearer ${secret}` });
  ws.send('this is not JSON');
  const m = await ws.next();
  ws.end();
  assert.equal(m.close, 1008, JSON.stringify(m));
  assert.ok(m.reason.length > 0, 'no reason given');
  assert.equal(agent.connections().length, n, 'the agent\'s own connection was disturbed');
  assert.equal((await mine()).status, 'connected');
});

test('a revoked agent is disconnected and cannot come back with its old secret', T, async () => {
  const n = agent.connections().length;
  const from = agent.output.length;
  const r = await hubApi(url, `/api/desktop/agents/${agentId}`, { token: ada, method: 'DELETE' });
  assert.ok(r.status === 200 || r.status === 204, `DELETE: ${r.status} ${r.text}`);
  await agent.waitOutput(/disconnected from/, { from, timeoutMs: 10_000 });
  assert.deepEqual((await listAgents(url, ada)).map((a) => a.id), []);
  const old = await openUpgrade(url, { 'X-Hearth-Agent': agentId, Authorization: `Bearer ${secret}` });
  assert.equal(old.status, 401, `the old secret: ${old.status} ${old.text}`);
  // Its next attempt is refused, and it says why.
  await agent.waitOutput(/401|revoked|unknown agent|not registered|unauthori[sz]ed|rejected|refused/i,
                         { from, timeoutMs: 15_000, what: 'word of the refusal' });
  assert.equal(agent.connections().length, n, 'the revoked agent connected again');
  // The old secret is of no use any more: it is not kept either.
  const forgotten = await poll(async () => {
    const kept = await readFile(path.join(home, 'agent', 'credentials.json'), 'utf8').catch(() => '');
    return !kept.includes(secret);
  }, { timeoutMs: 10_000 });
  assert.ok(forgotten, 'the revoked secret is still in credentials.json');
  await assert.rejects(openaiClient(url, ada).chat.completions.create({ model: MODEL, messages, max_tokens: 4 }),
                       (e) => e.status === 404);
});
