// The real `ollama` npm client against `hearth serve`: the Ollama API routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { startServerWithTiny, synthTiny, TINY } from './lib/hearth.js';
import { startFileServer } from './lib/file_server.js';
import { ollamaClient, l2norm, waitFor } from './lib/util.js';

let fixture;
let ollama;
const T = { timeout: 60_000 };
const greedy = { temperature: 0, num_predict: 8 };
const chatMessages = [{ role: 'user', content: 'Why is the sky blue?' }];

before(async () => {
  fixture = await startServerWithTiny();
  ollama = ollamaClient(fixture.url);
});

after(async () => {
  await fixture?.stop();
});

// The checks every final (done) Ollama generation response passes.
function checkDone(r, wallNs, maxTokens) {
  assert.equal(r.done, true);
  assert.ok(['stop', 'length'].includes(r.done_reason), `done_reason ${r.done_reason}`);
  assert.ok(!Number.isNaN(Date.parse(r.created_at)), `created_at ${r.created_at}`);
  assert.ok(r.prompt_eval_count > 0, `prompt_eval_count ${r.prompt_eval_count}`);
  assert.ok(r.eval_count >= 1 && r.eval_count <= maxTokens, `eval_count ${r.eval_count}`);
  if (r.done_reason === 'length') assert.equal(r.eval_count, maxTokens);
  for (const k of ['total_duration', 'prompt_eval_duration', 'eval_duration']) {
    assert.ok(Number.isInteger(r[k]) && r[k] > 0, `${k} ${r[k]}`);
  }
  assert.ok(Number.isInteger(r.load_duration) && r.load_duration >= 0, `load_duration ${r.load_duration}`);
  // Nanoseconds: not more than the time the request took, and not milliseconds or seconds.
  assert.ok(r.total_duration <= wallNs, `total_duration ${r.total_duration} ns > wall ${wallNs} ns`);
  assert.ok(r.total_duration > 10_000, `total_duration ${r.total_duration} is not in nanoseconds`);
  assert.ok(r.prompt_eval_duration + r.eval_duration <= r.total_duration);
}

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return [r, Number(process.hrtime.bigint() - t0)];
}

test('version', T, async () => {
  const v = await ollama.version();
  assert.match(v.version, /^\d+\.\d+\.\d+/);
});

test('list shows the installed model with size and digest', T, async () => {
  const { models } = await ollama.list();
  const m = models.find((x) => x.name === 'tiny:latest');
  assert.ok(m, `models: ${JSON.stringify(models)}`);
  assert.equal(m.model, 'tiny:latest');
  assert.equal(m.size, (await stat(fixture.modelFile)).size);
  assert.match(m.digest, /^(sha256:)?[0-9a-f]{64}$/);
  assert.ok(!Number.isNaN(Date.parse(m.modified_at)));
  assert.equal(m.details.format, 'gguf');
  assert.equal(m.details.family, 'llama');
  assert.equal(m.details.quantization_level, 'F16');
});

test('show gives details and model_info', T, async () => {
  const s = await ollama.show({ model: 'tiny' });
  assert.equal(s.details.family, 'llama');
  assert.equal(s.details.format, 'gguf');
  assert.equal(s.model_info['general.architecture'], 'llama');
  assert.equal(s.model_info['llama.embedding_length'], TINY.embeddingLength);
  assert.equal(s.model_info['llama.context_length'], TINY.contextLength);
  assert.equal(s.model_info['llama.block_count'], 2);
  await assert.rejects(ollama.show({ model: 'no-such-model' }), (e) => e.status_code === 404);
});

test('chat, non-streaming: message, done_reason, counts and nanosecond durations', T, async () => {
  const [r, wall] = await timed(() => ollama.chat({ model: 'tiny', messages: chatMessages,
                                                    stream: false, options: greedy }));
  assert.match(r.model, /^tiny/);
  assert.equal(r.message.role, 'assistant');
  assert.equal(typeof r.message.content, 'string');
  checkDone(r, wall, greedy.num_predict);
});

test('chat, streaming: parts then one done part with the same text', T, async () => {
  const [parts, wall] = await timed(async () => {
    const out = [];
    for await (const part of await ollama.chat({ model: 'tiny', messages: chatMessages,
                                                 stream: true, options: greedy })) out.push(part);
    return out;
  });
  assert.ok(parts.length >= 2, `${parts.length} parts`);
  const last = parts[parts.length - 1];
  for (const p of parts.slice(0, -1)) {
    assert.equal(p.done, false);
    assert.equal(p.message.role, 'assistant');
  }
  checkDone(last, wall, greedy.num_predict);
  const text = parts.map((p) => p.message?.content ?? '').join('');
  const solo = await ollama.chat({ model: 'tiny', messages: chatMessages, stream: false,
                                   options: greedy });
  assert.equal(text, solo.message.content);
  assert.equal(last.eval_count, solo.eval_count);
});

test('generate: streaming and not, options stop, seed and num_ctx', T, async () => {
  const prompt = 'The capital of France is';
  const [r, wall] = await timed(() => ollama.generate({ model: 'tiny', prompt, stream: false,
                                                        options: { ...greedy, num_predict: 24 } }));
  assert.equal(typeof r.response, 'string');
  checkDone(r, wall, 24);
  let streamed = '';
  for await (const p of await ollama.generate({ model: 'tiny', prompt, stream: true,
                                                options: { ...greedy, num_predict: 24 } })) {
    streamed += p.response;
  }
  assert.equal(streamed, r.response);
  // A stop string from the middle of the greedy answer ends the answer just before it.
  const at = [...r.response.matchAll(/[a-z]{2}/g)].map((m) => m.index).filter((i) => i >= 2);
  assert.ok(at.length > 0, `no two-letter run to stop at in ${JSON.stringify(r.response)}`);
  const i = at[Math.floor(at.length / 2)];
  const stop = r.response.slice(i, i + 2);
  const cut = await ollama.generate({ model: 'tiny', prompt, stream: false,
                                      options: { ...greedy, num_predict: 24, stop: [stop] } });
  assert.equal(cut.response, r.response.slice(0, r.response.indexOf(stop)));
  assert.equal(cut.done_reason, 'stop');
  // Sampling with a seed repeats.
  const sampled = () => ollama.generate({ model: 'tiny', prompt, stream: false,
    options: { temperature: 1, seed: 1234, num_predict: 12 } }).then((x) => x.response);
  assert.equal(await sampled(), await sampled());
  // A smaller context still answers (and a prompt longer than it is refused, not crashed on).
  const small = await ollama.generate({ model: 'tiny', prompt, stream: false,
                                        options: { ...greedy, num_ctx: 256 } });
  assert.equal(small.done, true);
  await assert.rejects(
    ollama.generate({ model: 'tiny', prompt: 'word '.repeat(400), stream: false,
                      options: { ...greedy, num_ctx: 64 } }),
    (e) => e.status_code >= 400 && e.status_code < 500 || /context/.test(e.message));
});

test('ps lists the model after use, with size and expiry', T, async () => {
  await ollama.generate({ model: 'tiny', prompt: 'hi', stream: false, options: greedy });
  const { models } = await ollama.ps();
  const m = models.find((x) => x.name === 'tiny:latest');
  assert.ok(m, `ps: ${JSON.stringify(models)}`);
  assert.equal(m.model, 'tiny:latest');
  assert.ok(m.size >= (await stat(fixture.modelFile)).size, `size ${m.size}`);
  assert.match(m.digest, /^(sha256:)?[0-9a-f]{64}$/);
  const expires = Date.parse(m.expires_at);
  assert.ok(expires > Date.now(), `expires_at ${m.expires_at} is not in the future`);
});

test('embed: one unit vector per input', T, async () => {
  const r = await ollama.embed({ model: 'tiny', input: ['hello world', 'good night'] });
  assert.match(r.model, /^tiny/);
  assert.equal(r.embeddings.length, 2);
  for (const e of r.embeddings) {
    assert.equal(e.length, TINY.embeddingLength);
    assert.ok(Math.abs(l2norm(e) - 1) < 1e-3, `norm ${l2norm(e)}`);
  }
  const one = await ollama.embed({ model: 'tiny', input: 'hello world' });
  assert.equal(one.embeddings.length, 1);
  for (let i = 0; i < TINY.embeddingLength; i++) {
    assert.ok(Math.abs(one.embeddings[0][i] - r.embeddings[0][i]) < 1e-5);
  }
});

test('pull by http URL streams progress and installs the model', T, async () => {
  const file = await synthTiny(fixture.dir, { seed: 2, name: 'pulled.gguf' });
  const size = (await stat(file)).size;
  const files = await startFileServer({ '/models/pulled.gguf': file });
  try {
    const events = [];
    for await (const e of await ollama.pull({ model: `${files.url}/models/pulled.gguf`,
                                              stream: true })) {
      events.push(e);
    }
    assert.equal(events[events.length - 1].status, 'success', JSON.stringify(events));
    const progress = events.filter((e) => e.total > 0);
    assert.ok(progress.length >= 1, `no progress events: ${JSON.stringify(events)}`);
    assert.ok(progress.every((e) => e.total === size && e.completed <= e.total));
    assert.equal(Math.max(...progress.map((e) => e.completed ?? 0)), size);
    // A URL has no digest before it is downloaded; when a digest is given it is a sha256.
    for (const e of events) if (e.digest) assert.match(e.digest, /^sha256:[0-9a-f]{64}$/);
    assert.ok(events.some((e) => /verifying/.test(e.status)), 'the download is verified');
    assert.ok(files.requests.some((r) => r.method === 'GET'), 'the file was downloaded');
    const { models } = await ollama.list();
    const pulled = models.find((m) => m.name.startsWith('pulled'));
    assert.ok(pulled, `not listed: ${models.map((m) => m.name).join(', ')}`);
    assert.equal(pulled.size, size);
    const r = await ollama.generate({ model: pulled.name, prompt: 'hi', stream: false,
                                      options: greedy });
    assert.equal(r.done, true);
  } finally {
    await files.close();
  }
});

test('copy installs a second name for the same model', T, async () => {
  await ollama.copy({ source: 'tiny', destination: 'tiny-copy' });
  const { models } = await ollama.list();
  const a = models.find((m) => m.name === 'tiny:latest');
  const b = models.find((m) => m.name === 'tiny-copy:latest');
  assert.ok(b, `models: ${models.map((m) => m.name).join(', ')}`);
  assert.equal(b.digest, a.digest);
  const r = await ollama.generate({ model: 'tiny-copy', prompt: 'hi', stream: false, options: greedy });
  const s = await ollama.generate({ model: 'tiny', prompt: 'hi', stream: false, options: greedy });
  assert.equal(r.response, s.response);
  await assert.rejects(ollama.copy({ source: 'no-such-model', destination: 'x' }),
                       (e) => e.status_code === 404);
});

test('delete removes a model; using it afterwards is 404', T, async () => {
  await ollama.copy({ source: 'tiny', destination: 'doomed' });
  await ollama.delete({ model: 'doomed' });
  const { models } = await ollama.list();
  assert.ok(!models.some((m) => m.name.startsWith('doomed')));
  assert.ok(models.some((m) => m.name === 'tiny:latest'), 'the source model stays');
  await assert.rejects(ollama.show({ model: 'doomed' }), (e) => e.status_code === 404);
  await assert.rejects(ollama.chat({ model: 'doomed', messages: chatMessages }),
                       (e) => e.status_code === 404);
  await assert.rejects(ollama.delete({ model: 'doomed' }), (e) => e.status_code === 404);
  // The shared blob is still there for the source.
  const r = await ollama.generate({ model: 'tiny', prompt: 'hi', stream: false, options: greedy });
  assert.equal(r.done, true);
});

test('keep_alive 0 unloads the model after the request', T, async () => {
  await ollama.generate({ model: 'tiny', prompt: 'hi', stream: false, options: greedy });
  assert.ok((await ollama.ps()).models.some((m) => m.name === 'tiny:latest'), 'loaded after use');
  const r = await ollama.generate({ model: 'tiny', prompt: 'hi', stream: false, options: greedy,
                                    keep_alive: 0 });
  assert.equal(r.done, true);
  const gone = await waitFor(async () =>
    !(await ollama.ps()).models.some((m) => m.name === 'tiny:latest'), { timeoutMs: 5000 });
  assert.ok(gone, `still loaded: ${JSON.stringify((await ollama.ps()).models)}`);
  // It loads again on the next request.
  const again = await ollama.chat({ model: 'tiny', messages: chatMessages, options: greedy });
  assert.equal(again.done, true);
  assert.ok(again.load_duration > 0, `load_duration ${again.load_duration} after an unload`);
});

test('unknown model in chat and generate is 404', T, async () => {
  await assert.rejects(ollama.chat({ model: 'no-such-model', messages: chatMessages }),
                       (e) => e.status_code === 404 && /no-such-model/.test(e.message));
  await assert.rejects(ollama.generate({ model: 'no-such-model', prompt: 'x' }),
                       (e) => e.status_code === 404);
});
