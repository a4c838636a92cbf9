// Logprobs, top_logprobs and several choices (`n`) through the real `openai` and `ollama` npm
// clients against `hearth serve`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServerWithTiny, runHearth } from './lib/hearth.js';
import { openaiClient, ollamaClient } from './lib/util.js';

let fixture;
let client;
let ollama;
const T = { timeout: 60_000 };
const messages = [{ role: 'user', content: 'Name three colours of the rainbow.' }];

before(async () => {
  fixture = await startServerWithTiny({ env: { HEARTH_NUM_PARALLEL: '3' } });
  client = openaiClient(fixture.url);
  ollama = ollamaClient(fixture.url);
});

after(async () => {
  await fixture?.stop();
});

// Every logprobs entry: the token's text, a logprob <= 0 and its bytes.
function checkEntry(e) {
  assert.equal(typeof e.token, 'string');
  assert.ok(e.logprob <= 0, `logprob ${e.logprob}`);
  assert.ok(Array.isArray(e.bytes) && e.bytes.every((b) => b >= 0 && b < 256));
}

test('n: 3 greedy with logprobs: three choices, the top alternative is the chosen token', T, async () => {
  const r = await client.chat.completions.create({
    model: 'tiny', messages, max_tokens: 8, temperature: 0, n: 3, logprobs: true, top_logprobs: 3,
  });
  assert.equal(r.choices.length, 3);
  let tokens = 0;
  for (const [i, c] of r.choices.entries()) {
    assert.equal(c.index, i);
    assert.equal(c.message.content, r.choices[0].message.content, 'greedy choices agree');
    assert.equal(c.logprobs.refusal, null);
    const content = c.logprobs.content;
    assert.ok(content.length >= 1);
    tokens += content.length;
    for (const e of content) {
      checkEntry(e);
      assert.equal(e.top_logprobs.length, 3);
      e.top_logprobs.forEach(checkEntry);
      assert.deepEqual(e.top_logprobs[0].bytes, e.bytes);
      assert.equal(e.top_logprobs[0].logprob, e.logprob);
      for (let k = 1; k < 3; ++k) assert.ok(e.top_logprobs[k - 1].logprob >= e.top_logprobs[k].logprob);
    }
    const bytes = Buffer.from(content.flatMap((e) => e.bytes)).toString('utf8');
    assert.equal(bytes, c.message.content);
  }
  assert.equal(r.usage.completion_tokens, tokens);
});

test('n: 3 streamed: chunks carry their choice, every choice ends, the text matches', T, async () => {
  const ask = { model: 'tiny', messages, max_tokens: 8, temperature: 1.3, seed: 5, n: 3,
                logprobs: true };
  const whole = await client.chat.completions.create(ask);
  const stream = await client.chat.completions.create({
    ...ask, stream: true, stream_options: { include_usage: true },
  });
  const text = ['', '', ''];
  const finish = [null, null, null];
  const entries = [0, 0, 0];
  let usage;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text[c.index] += c.delta?.content ?? '';
      if (c.finish_reason) {
        assert.equal(finish[c.index], null, `choice ${c.index} ended twice`);
        finish[c.index] = c.finish_reason;
      }
      entries[c.index] += c.logprobs?.content?.length ?? 0;
    }
  }
  for (let i = 0; i < 3; ++i) {
    assert.ok(['stop', 'length'].includes(finish[i]), `choice ${i} ended with ${finish[i]}`);
    assert.equal(text[i], whole.choices[i].message.content, `choice ${i}`);
    assert.equal(entries[i], whole.choices[i].logprobs.content.length);
  }
  assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
  assert.equal(usage.prompt_tokens, whole.usage.prompt_tokens, 'the prompt counts once');
});

test('a seed makes each choice reproducible on its own (choice i uses seed + i)', T, async () => {
  const ask = { model: 'tiny', messages, max_tokens: 10, temperature: 1.5 };
  const three = await client.chat.completions.create({ ...ask, n: 3, seed: 21 });
  const again = await client.chat.completions.create({ ...ask, n: 3, seed: 21 });
  for (let i = 0; i < 3; ++i) {
    const alone = await client.chat.completions.create({ ...ask, seed: 21 + i });
    assert.equal(three.choices[i].message.content, alone.choices[0].message.content, `choice ${i}`);
    assert.equal(again.choices[i].message.content, three.choices[i].message.content);
  }
  await assert.rejects(client.chat.completions.create({ ...ask, n: 4 }),
                       (e) => e.status === 400 && /'n'/.test(e.message));
});

test('completions logprobs: tokens, token_logprobs, top_logprobs and text_offset', T, async () => {
  const r = await client.completions.create({ model: 'tiny', prompt: 'Once upon a time',
                                              max_tokens: 6, temperature: 0, logprobs: 2 });
  const lp = r.choices[0].logprobs;
  assert.equal(lp.tokens.length, r.usage.completion_tokens);
  assert.equal(lp.token_logprobs.length, lp.tokens.length);
  assert.equal(lp.top_logprobs.length, lp.tokens.length);
  assert.equal(lp.text_offset[0], 0);
  for (const [k, top] of lp.top_logprobs.entries()) {
    const best = Math.max(...Object.values(top));
    assert.equal(best, lp.token_logprobs[k], 'greedy picks the most likely token');
  }
});

test('completions streamed with n: 2: each choice\'s logprobs and offsets go on across chunks', T, async () => {
  const ask = { model: 'tiny', prompt: 'Once upon a time', max_tokens: 6, temperature: 0,
                logprobs: 1, n: 2 };
  const whole = await client.completions.create(ask);
  const got = [{ tokens: [], offsets: [] }, { tokens: [], offsets: [] }];
  for await (const chunk of await client.completions.create({ ...ask, stream: true })) {
    for (const c of chunk.choices) {
      if (!c.logprobs) continue;
      got[c.index].tokens.push(...c.logprobs.tokens);
      got[c.index].offsets.push(...c.logprobs.text_offset);
    }
  }
  for (let i = 0; i < 2; ++i) {
    assert.deepEqual(got[i].tokens, whole.choices[i].logprobs.tokens, `choice ${i}`);
    assert.deepEqual(got[i].offsets, whole.choices[i].logprobs.text_offset, `choice ${i}`);
  }
});

test('ollama client: logprobs on chat (whole and streamed) and generate', T, async () => {
  const options = { temperature: 0, num_predict: 6 };
  const r = await ollama.chat({ model: 'tiny', messages, stream: false, options,
                                logprobs: true, top_logprobs: 2 });
  assert.equal(r.logprobs.length, r.eval_count);
  for (const e of r.logprobs) {
    checkEntry(e);
    assert.equal(e.top_logprobs.length, 2);
    assert.equal(e.top_logprobs[0].logprob, e.logprob);
  }
  const streamed = [];
  for await (const part of await ollama.chat({ model: 'tiny', messages, stream: true, options,
                                                logprobs: true, top_logprobs: 2 }))
    streamed.push(...(part.logprobs ?? []));
  assert.deepEqual(streamed, r.logprobs);
  const g = await ollama.generate({ model: 'tiny', prompt: 'hello', stream: false, options,
                                    logprobs: true });
  assert.equal(g.logprobs.length, g.eval_count);
  for (const e of g.logprobs) assert.deepEqual(e.top_logprobs, []);
});

// Last: it makes this server route `tiny` to a remote engine (itself), which cannot carry logprobs.
test('a chat routed to a remote engine refuses logprobs with a 400 naming the field', T, async () => {
  await runHearth(['remote', 'add', 'self', '--url', `${fixture.url}/v1`, '--models', 'tiny'],
                  { home: fixture.home });
  const deadline = Date.now() + 20_000;
  let refused;
  while (!refused && Date.now() < deadline) {
    try {
      await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 1,
                                             logprobs: true, stream: false });
      await new Promise((r) => setTimeout(r, 200));  // still local: the hub reads engines every ~2 s
    } catch (e) {
      refused = e;
    }
  }
  assert.ok(refused, 'the routed chat was never refused');
  assert.equal(refused.status, 400);
  assert.match(String(refused.error?.message ?? refused.message), /'logprobs'.*remote 'self'/);
});
