// A client that goes away mid-stream must free its sequence slot. The server runs with one slot
// (HEARTH_NUM_PARALLEL=1), so a leaked slot would also block the next request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServerWithTiny } from './lib/hearth.js';
import { ollamaClient, request, waitFor } from './lib/util.js';

let fixture;
let url;
const T = { timeout: 90_000 };
const MAX = 4000;
const body = {
  model: 'tiny', temperature: 0, max_tokens: MAX,
  messages: [{ role: 'user', content: 'Write a very long essay about rivers.' }],
};

before(async () => {
  fixture = await startServerWithTiny({ env: { HEARTH_NUM_PARALLEL: '1', HEARTH_THREADS: '1' } });
  url = fixture.url;
});

after(async () => {
  await fixture?.stop();
});

// /metrics (Prometheus text) as { name: value } for unlabelled samples.
async function metrics() {
  const r = await request(`${url}/metrics`, { method: 'GET' });
  assert.equal(r.status, 200, `/metrics: ${r.status} ${r.text}`);
  const out = {};
  for (const line of r.text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\s+(\S+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

async function idle() {
  const m = await metrics();
  assert.ok('hearth_active_sequences' in m, `no hearth_active_sequences in /metrics`);
  return m.hearth_active_sequences === 0 && m.hearth_queue_depth === 0 ? m : null;
}

test('aborting a stream (AbortController) frees its slot', T, async () => {
  // How many tokens the request makes when nobody hangs up.
  const full = await request(`${url}/v1/chat/completions`, { body });
  assert.equal(full.status, 200, full.text);
  const fullTokens = full.json.usage.completion_tokens;
  const before = await waitFor(idle);
  assert.ok(before, 'idle before the test');

  const controller = new AbortController();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', signal: controller.signal,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
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

  const after = await waitFor(idle, { timeoutMs: 5000 });
  assert.ok(after, `still busy after the abort: ${JSON.stringify(await metrics())}`);
  const generated = after.hearth_generated_tokens_total - before.hearth_generated_tokens_total;
  if (fullTokens >= 400) {
    assert.ok(generated < fullTokens / 2,
              `the aborted request went on generating: ${generated} of ${fullTokens} tokens`);
  }

  // The only slot is free: a new request is served at once.
  const next = await request(`${url}/v1/chat/completions`, {
    body: { ...body, max_tokens: 8 }, signal: AbortSignal.timeout(20_000),
  });
  assert.equal(next.status, 200);
  assert.ok(next.json.usage.completion_tokens >= 1);
});

test('aborting an Ollama client stream frees its slot too', T, async () => {
  const ollama = ollamaClient(url);
  const stream = await ollama.chat({
    model: 'tiny', stream: true, messages: body.messages,
    options: { temperature: 0, num_predict: MAX },
  });
  let parts = 0;
  await assert.rejects(async () => {
    for await (const part of stream) {
      if (++parts === 3) stream.abort();
      assert.equal(part.done, false);
    }
  }, (e) => e.name === 'AbortError' || /abort/i.test(e.message));
  assert.ok(await waitFor(idle, { timeoutMs: 5000 }), 'still busy after the abort');
  const ps = await ollama.ps();
  assert.ok(ps.models.some((m) => m.name === 'tiny:latest'), 'stays loaded after an abort');
  const next = await ollama.generate({ model: 'tiny', prompt: 'hi', options: { num_predict: 4 } });
  assert.equal(next.done, true);
});
