// The real `openai` npm client (v4) against `hearth serve`: the OpenAI API routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServerWithTiny, TINY } from './lib/hearth.js';
import { openaiClient, l2norm } from './lib/util.js';

let fixture;
let client;
const T = { timeout: 60_000 };
const messages = [
  { role: 'system', content: 'You are a terse assistant.' },
  { role: 'user', content: 'Name three colours of the rainbow.' },
];

before(async () => {
  fixture = await startServerWithTiny();
  client = openaiClient(fixture.url);
});

after(async () => {
  await fixture?.stop();
});

test('chat completion (non-streaming) has the message, finish_reason and usage', T, async () => {
  const r = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 12,
                                                   temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.id, /\S/);
  assert.equal(typeof r.created, 'number');
  assert.ok(Math.abs(r.created - Date.now() / 1000) < 600, `created ${r.created} is not now`);
  assert.match(r.model, /^tiny/);
  assert.equal(r.choices.length, 1);
  const [c] = r.choices;
  assert.equal(c.index, 0);
  assert.equal(c.message.role, 'assistant');
  assert.equal(typeof c.message.content, 'string');
  assert.ok(['stop', 'length'].includes(c.finish_reason), `finish_reason ${c.finish_reason}`);
  const u = r.usage;
  assert.ok(u.prompt_tokens > 10, `prompt_tokens ${u.prompt_tokens} (the prompt has a system and a user message)`);
  assert.ok(u.completion_tokens >= 1 && u.completion_tokens <= 12, `completion_tokens ${u.completion_tokens}`);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  if (c.finish_reason === 'length') assert.equal(u.completion_tokens, 12);
});

test('chat completion streaming: chunks, end, and a usage chunk with include_usage', T, async () => {
  const stream = await client.chat.completions.create({
    model: 'tiny', messages, max_tokens: 12, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.ok(chunks.length >= 2, `only ${chunks.length} chunks`);
  const ids = new Set(chunks.map((c) => c.id));
  assert.equal(ids.size, 1, 'every chunk carries the same id');
  for (const c of chunks) assert.equal(c.object, 'chat.completion.chunk');
  const withChoices = chunks.filter((c) => c.choices.length > 0);
  const text = withChoices.map((c) => c.choices[0].delta?.content ?? '').join('');
  const finishes = withChoices.map((c) => c.choices[0].finish_reason).filter((f) => f);
  assert.equal(finishes.length, 1, 'exactly one chunk has a finish_reason');
  assert.ok(['stop', 'length'].includes(finishes[0]));
  // The usage chunk comes last, with an empty choices array.
  const last = chunks[chunks.length - 1];
  assert.deepEqual(last.choices, []);
  assert.ok(last.usage, 'include_usage gives a final usage chunk');
  assert.ok(last.usage.prompt_tokens > 0);
  assert.ok(last.usage.completion_tokens >= 1 && last.usage.completion_tokens <= 12);
  assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
  // Streaming and non-streaming give the same greedy text.
  const solo = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 12,
                                                      temperature: 0 });
  assert.equal(text, solo.choices[0].message.content);
  assert.equal(last.usage.completion_tokens, solo.usage.completion_tokens);
});

test('completions (legacy) return text_completion with usage', T, async () => {
  const r = await client.completions.create({ model: 'tiny', prompt: 'Once upon a time',
                                              max_tokens: 8, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices.length, 1);
  assert.equal(typeof r.choices[0].text, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens >= 4, `prompt_tokens ${r.usage.prompt_tokens}`);
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 8);
  // Streaming variant.
  const stream = await client.completions.create({ model: 'tiny', prompt: 'Once upon a time',
                                                   max_tokens: 8, temperature: 0, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  assert.equal(text, r.choices[0].text);
});

test('models.list shows the installed model', T, async () => {
  const ids = [];
  for await (const m of client.models.list()) {
    assert.equal(m.object, 'model');
    assert.equal(typeof m.created, 'number');
    assert.equal(typeof m.owned_by, 'string');
    ids.push(m.id);
  }
  assert.ok(ids.includes('tiny:latest') || ids.includes('tiny'), `models: ${ids.join(', ')}`);
});

test('embeddings: one unit vector of the embedding size per input (base64 and float)', T, async () => {
  // The client asks for base64 by default and decodes it.
  const r = await client.embeddings.create({ model: 'tiny', input: ['hello world', 'goodbye'] });
  assert.equal(r.object, 'list');
  assert.equal(r.data.length, 2);
  for (const [i, d] of r.data.entries()) {
    assert.equal(d.object, 'embedding');
    assert.equal(d.index, i);
    assert.equal(d.embedding.length, TINY.embeddingLength);
    assert.ok(Math.abs(l2norm(d.embedding) - 1) < 1e-3, `norm ${l2norm(d.embedding)}`);
  }
  assert.notDeepEqual(r.data[0].embedding, r.data[1].embedding);
  assert.ok(r.usage.prompt_tokens > 0);
  const f = await client.embeddings.create({ model: 'tiny', input: 'hello world',
                                             encoding_format: 'float' });
  assert.equal(f.data.length, 1);
  const a = f.data[0].embedding;
  assert.ok(Array.isArray(a));
  assert.equal(a.length, TINY.embeddingLength);
  // Same input, same vector, whichever encoding carried it (base64 is float32).
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - r.data[0].embedding[i]) < 1e-6);
});

test('seed with temperature 0 and with sampling is reproducible', T, async () => {
  const ask = (extra) => client.chat.completions.create({
    model: 'tiny', messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 16, ...extra,
  }).then((r) => r.choices[0].message.content);
  const g1 = await ask({ temperature: 0, seed: 7 });
  const g2 = await ask({ temperature: 0, seed: 8 });
  assert.equal(g1, g2, 'greedy output does not depend on the seed');
  const s1 = await ask({ temperature: 1.0, top_p: 0.95, seed: 42 });
  const s2 = await ask({ temperature: 1.0, top_p: 0.95, seed: 42 });
  assert.equal(s1, s2, 'the same seed gives the same sample');
  const others = await Promise.all([43, 44, 45].map((seed) => ask({ temperature: 1.5, seed })));
  assert.ok(others.some((o) => o !== s1), 'other seeds give other samples');
});

test('stop, max_completion_tokens and penalties', T, async () => {
  const base = { model: 'tiny', messages: [{ role: 'user', content: 'Count to ten.' }],
                 temperature: 0 };
  const full = await client.chat.completions.create({ ...base, max_tokens: 24 });
  const text = full.choices[0].message.content;
  // A stop string taken from the middle of the greedy answer cuts it right there.
  const letters = [...text.matchAll(/[a-z]{2}/g)].map((m) => m.index).filter((i) => i >= 2);
  assert.ok(letters.length > 0, `no two-letter run to stop at in ${JSON.stringify(text)}`);
  const at = letters[Math.floor(letters.length / 2)];
  const stop = text.slice(at, at + 2);
  const cut = await client.chat.completions.create({ ...base, max_tokens: 24, stop: [stop] });
  assert.equal(cut.choices[0].message.content, text.slice(0, text.indexOf(stop)));
  assert.equal(cut.choices[0].finish_reason, 'stop');
  const short = await client.chat.completions.create({ ...base, max_completion_tokens: 3 });
  assert.ok(short.usage.completion_tokens <= 3);
  if (short.choices[0].finish_reason === 'length') assert.equal(short.usage.completion_tokens, 3);
  assert.ok(text.startsWith(short.choices[0].message.content));
  const pen = await client.chat.completions.create({ ...base, max_tokens: 8,
                                                     frequency_penalty: 0.5, presence_penalty: 0.5 });
  assert.equal(pen.object, 'chat.completion');
  assert.ok(pen.usage.completion_tokens >= 1);
});

test('response_format json_object gives parseable JSON', T, async () => {
  const r = await client.chat.completions.create({
    model: 'tiny', temperature: 0, max_tokens: 200, response_format: { type: 'json_object' },
    messages: [{ role: 'user', content: 'Reply with a JSON object describing a cat.' }],
  });
  const content = r.choices[0].message.content;
  assert.equal(r.choices[0].finish_reason, 'stop', `finished by ${r.choices[0].finish_reason}: ${content}`);
  let parsed;
  assert.doesNotThrow(() => { parsed = JSON.parse(content); }, `not JSON: ${content}`);
  assert.equal(typeof parsed, 'object');
  assert.ok(parsed !== null && !Array.isArray(parsed), `not an object: ${content}`);
});

test('unknown model is a NotFoundError (404)', T, async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model', messages, max_tokens: 4 }),
    (e) => {
      assert.ok(e instanceof OpenAI.NotFoundError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, 404);
      assert.match(e.message, /no-such-model/);
      return true;
    });
  await assert.rejects(client.embeddings.create({ model: 'no-such-model', input: 'x' }),
                       OpenAI.NotFoundError);
});

test('a field of the wrong type is a BadRequestError (400) naming the field', T, async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'tiny', messages, max_tokens: 4, temperature: 'hot' }),
    (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, 400);
      assert.match(e.message, /temperature/);
      return true;
    });
  await assert.rejects(
    client.chat.completions.create({ model: 'tiny', messages: 'hello', max_tokens: 4 }),
    (e) => e instanceof OpenAI.BadRequestError && /messages/.test(e.message));
});
