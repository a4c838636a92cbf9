// Many chats routed at once over two desktop agents of one user (docs/desktop-protocol.md:
// "Several agents with the model are balanced"): every chat completes with its own text (the
// pieces of concurrent requests never mix: a greedy answer is the same alone or batched), and
// both agents take a share. Chats given to an agent that dies before its first piece finish on
// the other one. A model removed from one agent through the hub
// (DELETE /api/desktop/agents/{id}/models/{name}) sends every chat to the other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openaiClient, streamChat } from './lib/util.js';
import { MODEL, isModel, startDesktopFixture, listAgents, hubApi, poll } from './lib/desktop.js';

const T = { timeout: 90_000 };
const N = 50;
const prompts = ['Name three colours of the rainbow.', 'Count to five.', 'What is a river?',
                 'Say hello in French.', 'Describe the sea in one line.'];
let fx;
let ada;
const agents = [];

before(async () => {
  fx = await startDesktopFixture({ agents: 2 });
  ada = fx.tokens.ada;
  for (const [i, home] of fx.homes.entries()) {
    // Several sequences each, one thread: the two agents share this machine's cores.
    const a = await fx.agent({ token: ada, home, name: `desk-${i + 1}`,
                               env: { HEARTH_NUM_PARALLEL: '8', HEARTH_THREADS: '1' } });
    agents.push(a);
  }
  for (const a of agents) await a.waitConnected();
});

after(async () => {
  await fx?.stop();
});

test(`${N} concurrent routed chats (streaming and not) all complete, on both agents`, T, async () => {
  const ids = agents.map((a) => a.connections()[0].id);
  const listed = await poll(async () => {
    const all = await listAgents(fx.url, ada);
    return ids.every((id) => all.find((x) => x.id === id)?.status === 'connected') ? all : null;
  });
  assert.ok(listed, 'both agents are not listed connected');

  const client = openaiClient(fx.url, ada);
  const headers = { Authorization: `Bearer ${ada}` };
  const one = async (i) => {
    const prompt = prompts[i % prompts.length];
    const body = { model: MODEL, temperature: 0, max_tokens: 16,
                   messages: [{ role: 'user', content: prompt }] };
    if (i % 2 === 0) {
      const r = await streamChat(fx.url, { ...body, stream_options: { include_usage: true } }, { headers });
      assert.ok(r.sawDone, `chat ${i}: no [DONE]`);
      return { prompt, text: r.text, tokens: r.usage?.completion_tokens, finish: r.finishReason };
    }
    const r = await client.chat.completions.create(body);
    return { prompt, text: r.choices[0].message.content, tokens: r.usage.completion_tokens,
             finish: r.choices[0].finish_reason };
  };
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: N }, (_, i) => one(i)));
  const seconds = (performance.now() - t0) / 1000;

  const byPrompt = new Map();
  for (const [i, r] of results.entries()) {
    assert.ok(r.text.length > 0, `chat ${i} has no text`);
    assert.ok(r.tokens >= 1 && r.tokens <= 16, `chat ${i}: ${r.tokens} tokens`);
    assert.ok(['stop', 'length'].includes(r.finish), `chat ${i}: finish ${r.finish}`);
    if (!byPrompt.has(r.prompt)) byPrompt.set(r.prompt, new Set());
    byPrompt.get(r.prompt).add(r.text);
  }
  for (const [prompt, texts] of byPrompt) {
    assert.equal(texts.size, 1, `"${prompt}" got different answers: ${JSON.stringify([...texts])}`);
  }

  const after = await poll(async () => {
    const all = await listAgents(fx.url, ada);
    const mine = ids.map((id) => all.find((x) => x.id === id));
    return mine.every((a) => a.in_flight === 0) ? mine : null;
  }, { timeoutMs: 5000 });
  assert.ok(after, 'requests stay in flight after every chat ended');
  const served = after.map((a) => a.served);
  assert.equal(served[0] + served[1], N, `served ${served} (${N} chats)`);
  for (const [i, s] of served.entries()) assert.ok(s > 0, `agent ${i + 1} served none (${served})`);
  process.stdout.write(`# ${N} routed chats in ${seconds.toFixed(1)} s, served per agent: ${served}\n`);
});

test('chats on an agent that dies before its first piece move to the other agent', T, async () => {
  const [one, two] = agents.map((a) => a.connections()[0].id);
  const served = async () => Object.fromEntries((await listAgents(fx.url, ada)).map((a) => [a.id, a]));
  // The hub balances on the queue each agent last reported: wait until both have reported an
  // empty one since the previous test's burst (a frozen agent 1 would otherwise look busy).
  const quiet = await poll(async () => {
    const all = Object.values(await served());
    return all.length === 2 && all.every((a) => a.telemetry?.queue === 0 && a.telemetry?.active === 0)
      ? true : null;
  }, { timeoutMs: 15_000 });
  assert.ok(quiet, 'the agents never reported an empty queue');
  const before = await served();
  // Frozen, agent 1 takes its share of the chats and answers nothing. The chats are long enough
  // that agent 2 is still busy with one when the next arrives: an idle agent 2 that is faster
  // would rightly get every short chat, one after another.
  agents[0].kill('SIGSTOP');
  const client = openaiClient(fx.url, ada);
  const body = { model: MODEL, temperature: 0, max_tokens: 300, messages: [{ role: 'user', content: prompts[1] }] };
  const chats = Promise.all(Array.from({ length: 4 }, () => client.chat.completions.create(body)));
  const stuck = await poll(async () => ((await served())[one].in_flight >= 1 ? true : null), { timeoutMs: 10_000 });
  if (!stuck) agents[0].kill('SIGCONT');
  assert.ok(stuck, 'no chat was given to agent 1');
  const t0 = performance.now();
  agents[0].child.kill('SIGKILL');
  const results = await chats;
  const ms = performance.now() - t0;
  const texts = new Set(results.map((r) => r.choices[0].message.content));
  assert.equal(texts.size, 1, `different answers: ${JSON.stringify([...texts])}`);
  assert.ok(results.every((r) => r.usage.completion_tokens >= 1));
  assert.ok(ms < 5000, `the chats took ${Math.round(ms)} ms to finish after agent 1 died`);
  const after = await served();
  assert.equal(after[one].status, 'disconnected');
  assert.equal(after[two].served, before[two].served + 4);

  // Agent 1 comes back for the next test.
  await agents[0].exitPromise;
  agents[0] = await fx.agent({ home: fx.homes[0], name: 'desk-1',
                               env: { HEARTH_NUM_PARALLEL: '8', HEARTH_THREADS: '1' } });
  assert.equal((await agents[0].waitConnected()).id, one);
  assert.ok(await poll(async () => ((await served())[one].status === 'connected' ? true : null)));
});

test('a model removed from one agent through the hub: the other agent serves every chat', T, async () => {
  const [one, two] = agents.map((a) => a.connections()[0].id);
  const r = await hubApi(fx.url, `/api/desktop/agents/${one}/models/${MODEL}`, { token: ada, method: 'DELETE' });
  assert.equal(r.status, 200, r.text);
  const lines = r.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.at(-1), { status: 'success' }, r.text);

  // The agent sends its new list; the hub shows desk-tiny on the other agent only.
  const listed = await poll(async () => {
    const m = await hubApi(fx.url, '/api/desktop/models', { token: ada });
    const where = m.json.models.filter((x) => isModel(x.name) && x.where === 'desktop').map((x) => x.agent.id);
    return where.length === 1 && where[0] === two ? m.json : null;
  }, { timeoutMs: 10_000 });
  assert.ok(listed, 'the hub still lists desk-tiny on the agent it was removed from');
  const before = Object.fromEntries((await listAgents(fx.url, ada)).map((a) => [a.id, a.served]));
  assert.ok(!(await listAgents(fx.url, ada)).find((a) => a.id === one).models.some((m) => isModel(m.name)));

  const client = openaiClient(fx.url, ada);
  await Promise.all(Array.from({ length: 6 }, () => client.chat.completions.create({
    model: MODEL, max_tokens: 4, messages: [{ role: 'user', content: prompts[0] }] })));
  const after = Object.fromEntries((await listAgents(fx.url, ada)).map((a) => [a.id, a.served]));
  assert.equal(after[one], before[one], 'a chat went to the agent without the model');
  assert.equal(after[two], before[two] + 6);

  // Removing it again: the agent has no such model, and the answer says so.
  const again = await hubApi(fx.url, `/api/desktop/agents/${one}/models/${MODEL}`, { token: ada, method: 'DELETE' });
  assert.ok(again.status === 404 || /"error"/.test(again.text), `${again.status} ${again.text}`);
  assert.ok(!/"success"/.test(again.text), again.text);
});
