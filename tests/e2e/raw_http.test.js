// What curl sees: raw HTTP against `hearth serve` (status lines, content types, SSE and NDJSON
// framing, malformed requests) and 16 concurrent streams.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServerWithTiny } from './lib/hearth.js';
import { request, sseData, ndjson, streamChat } from './lib/util.js';

let fixture;
let url;
const T = { timeout: 60_000 };

before(async () => {
  fixture = await startServerWithTiny();
  url = fixture.url;
});

after(async () => {
  await fixture?.stop();
});

test('HEAD / and GET / answer 200', T, async () => {
  const head = await fetch(`${url}/`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
  const get = await request(`${url}/`, { method: 'GET' });
  assert.equal(get.status, 200);
  assert.match(get.text, /running/);
});

test('streaming chat is text/event-stream ending with data: [DONE]', T, async () => {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'tiny', stream: true, max_tokens: 6, temperature: 0,
                           messages: [{ role: 'user', content: 'hi' }] }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const body = await res.text();
  assert.match(body, /data: \[DONE\]\r?\n\r?\n$/, `body ends: ${JSON.stringify(body.slice(-80))}`);
  const events = sseData(body);
  assert.equal(events[events.length - 1], '[DONE]');
  assert.equal(events.filter((e) => e === '[DONE]').length, 1);
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  assert.ok(chunks.length >= 2);
  for (const c of chunks) assert.equal(c.object, 'chat.completion.chunk');
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  assert.ok(chunks.some((c) => c.choices[0]?.finish_reason));
});

test('streaming /api/chat is NDJSON, one object per line, the last done', T, async () => {
  const r = await request(`${url}/api/chat`, {
    body: { model: 'tiny', messages: [{ role: 'user', content: 'hi' }],
            options: { temperature: 0, num_predict: 6 } },
  });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/x-ndjson/);
  const lines = ndjson(r.text);
  assert.ok(lines.length >= 2);
  assert.equal(lines[lines.length - 1].done, true);
  assert.ok(lines.slice(0, -1).every((l) => l.done === false));
  const g = await request(`${url}/api/generate`, {
    body: { model: 'tiny', prompt: 'hi', options: { temperature: 0, num_predict: 6 } },
  });
  assert.equal(g.status, 200);
  assert.match(g.headers.get('content-type'), /^application\/x-ndjson/);
  assert.equal(ndjson(g.text).pop().done, true);
});

test('malformed JSON and wrong shapes are 400 with a message naming the problem', T, async () => {
  const bad = '{"model": "tiny", "messages": [';
  const o = await request(`${url}/v1/chat/completions`, { body: bad });
  assert.equal(o.status, 400);
  assert.equal(typeof o.json?.error?.message, 'string', `OpenAI error shape: ${o.text}`);
  assert.match(o.json.error.message, /json/i);
  const a = await request(`${url}/api/chat`, { body: bad });
  assert.equal(a.status, 400);
  assert.equal(typeof a.json?.error, 'string', `Ollama error shape: ${a.text}`);
  assert.match(a.json.error, /json/i);
  const notObject = await request(`${url}/v1/chat/completions`, { body: '[1, 2, 3]' });
  assert.equal(notObject.status, 400);
  const noMessages = await request(`${url}/v1/chat/completions`, { body: { model: 'tiny' } });
  assert.equal(noMessages.status, 400);
  assert.match(noMessages.json.error.message, /messages/);
  const noModel = await request(`${url}/api/generate`, { body: { prompt: 'hi' } });
  assert.equal(noModel.status, 400);
  assert.match(noModel.json.error, /model/);
  const badOption = await request(`${url}/api/generate`, {
    body: { model: 'tiny', prompt: 'hi', stream: false, options: { num_predict: 'many' } },
  });
  assert.equal(badOption.status, 400);
  assert.match(badOption.json.error, /num_predict/);
  // The server is still fine.
  const ok = await request(`${url}/api/version`, { method: 'GET' });
  assert.equal(ok.status, 200);
});

test('16 concurrent streaming chats all complete, each equal to its solo greedy output', T, async () => {
  const bodies = Array.from({ length: 16 }, (_, i) => ({
    model: 'tiny', temperature: 0, max_tokens: 12 + (i % 5) * 4,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: `Question ${i}: what comes after ${i * 7}?` }],
  }));
  const solo = [];
  for (const b of bodies) solo.push(await streamChat(url, b));
  const together = await Promise.all(bodies.map((b) => streamChat(url, b)));
  for (let i = 0; i < bodies.length; i++) {
    assert.ok(together[i].sawDone, `stream ${i} ended without [DONE]`);
    assert.ok(together[i].usage, `stream ${i} has no usage chunk`);
    assert.equal(together[i].text, solo[i].text, `stream ${i} differs from its solo run`);
    assert.equal(together[i].finishReason, solo[i].finishReason);
    assert.equal(together[i].usage.completion_tokens, solo[i].usage.completion_tokens);
    assert.ok(solo[i].usage.completion_tokens >= 1);
  }
  // Different prompts really gave different answers (the comparison above means something).
  assert.ok(new Set(solo.map((s) => s.text)).size > 8);
});
