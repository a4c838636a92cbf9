// `ollama create` with a LoRA adapter from hearth's own trainer, through the real `ollama` npm
// client: a tiny adapter trained with `hearth train`, its bytes sent to POST /api/blobs/:digest
// (the client has no blob call; the Ollama CLI sends exactly this), ollama.create from the
// installed base with that adapter, then chat, show and delete. The made model answers as the
// base with the adapter does under `hearth generate --lora` (greedy), and unlike the base alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { installModel, makeTempDir, runHearth, startServer, synthTiny } from './lib/hearth.js';
import { ollamaClient, request } from './lib/util.js';

let dir;
let server;
let ollama;
let baseFile;
let adapterFile;
const T = { timeout: 120_000 };
const prompt = 'what is item 3?';
const greedy = { temperature: 0, repeat_penalty: 1, num_predict: 8 };

before(async () => {
  dir = await makeTempDir('hearth-e2e-create-');
  const home = path.join(dir, 'home');
  baseFile = await synthTiny(dir);
  await installModel(home, baseFile, 'tiny');
  // A few steps on a few examples: enough to move the weights, quick on one core.
  const data = path.join(dir, 'train.jsonl');
  let lines = '';
  for (let i = 0; i < 4; i++) {
    lines += JSON.stringify({ messages: [{ role: 'user', content: `what is item ${i}?` },
                                         { role: 'assistant', content: 'It is a hearth.' }] }) + '\n';
  }
  await writeFile(data, lines);
  adapterFile = path.join(dir, 'adapter.gguf');
  await runHearth(['train', baseFile, '--data', data, '--out', adapterFile, '--steps', '4',
                   '--lr', '0.05', '--batch', '2', '--threads', '1', '--seed', '3'], { home });
  server = await startServer({ home });
  ollama = ollamaClient(server.url);
});

after(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function uploadBlob(bytes) {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const res = await fetch(`${server.url}/api/blobs/${digest}`, { method: 'POST', body: bytes });
  assert.equal(res.status, 201, await res.text());
  return digest;
}

test('create from the base with a trained adapter, chat, show and delete', T, async () => {
  const adapter = await readFile(adapterFile);
  const digest = await uploadBlob(adapter);
  const head = await fetch(`${server.url}/api/blobs/${digest}`, { method: 'HEAD' });
  assert.equal(head.status, 200);

  const statuses = [];
  const stream = await ollama.create({
    model: 'tiny-tuned', from: 'tiny', adapters: { 'adapter.gguf': digest },
    system: 'Answer briefly.', parameters: { temperature: 0, num_predict: 8 }, stream: true,
  });
  for await (const part of stream) statuses.push(part.status);
  assert.equal(statuses.at(-1), 'success', JSON.stringify(statuses));
  assert.ok(statuses.includes(`using existing layer ${digest}`), JSON.stringify(statuses));

  const { models } = await ollama.list();
  assert.ok(models.some((m) => m.name === 'tiny-tuned:latest'), JSON.stringify(models));
  const shown = await ollama.show({ model: 'tiny-tuned' });
  assert.match(shown.modelfile, new RegExp(`^ADAPTER ${digest}$`, 'm'));
  assert.match(shown.modelfile, /^SYSTEM """Answer briefly."""$/m);
  assert.match(shown.parameters, /^temperature\s+0(\.0)?$/m);
  assert.equal(shown.system, 'Answer briefly.');
  assert.equal(shown.details.adapters[0].digest, digest);

  // Greedy and raw: the same text as the CLI's base + adapter, unlike the base alone.
  const tuned = await ollama.generate({ model: 'tiny-tuned', prompt, raw: true, options: greedy });
  const plain = await ollama.generate({ model: 'tiny', prompt, raw: true, options: greedy });
  const { stdout } = await runHearth(['generate', baseFile, '--lora', adapterFile, '--prompt', prompt,
                                      '-n', '8'], { home: dir });
  assert.ok(tuned.response.length > 0);
  assert.ok(stdout.startsWith(tuned.response),
            `server ${JSON.stringify(tuned.response)} vs cli ${JSON.stringify(stdout)}`);
  assert.notEqual(tuned.response, plain.response);

  const chat = await ollama.chat({ model: 'tiny-tuned', messages: [{ role: 'user', content: prompt }],
                                   stream: false });
  assert.equal(chat.done, true);
  assert.equal(chat.message.role, 'assistant');

  // The old API's modelfile is refused, naming what to send instead.
  await assert.rejects(ollama.create({ model: 'x', modelfile: 'FROM tiny' }),
                       (e) => e.status_code === 400 && /from/.test(e.message));
  const bad = await request(`${server.url}/api/create`,
                            { body: { model: 'x', from: 'tiny', adapters: { a: 'sha256:12' } } });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error, /adapters\.a/);

  // Deleting the made model leaves the base whole.
  await ollama.delete({ model: 'tiny-tuned' });
  const again = await ollama.generate({ model: 'tiny', prompt, raw: true, options: greedy });
  assert.equal(again.response, plain.response);
});
