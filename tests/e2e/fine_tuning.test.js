// The real `openai` npm client (v4) trains a local model through hearth's fine-tuning API: a
// training and a validation file sent with files.create, fineTuning.jobs.create on a personal
// model, the job followed through retrieve and listEvents until it succeeds, and a chat with the
// resulting model (its fine_tuned_model id) that answers as it was taught, unlike the base.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import OpenAI from 'openai';
import { installModel, makeTempDir, startServer, synthTiny } from './lib/hearth.js';
import { openaiClient } from './lib/util.js';

let dir;
let server;
let client;
const T = { timeout: 300_000 };

// Every answer is the same sentence: easy to learn, easy to recognise.
function examples(from, n) {
  let out = '';
  for (let i = from; i < from + n; i++) {
    out += JSON.stringify({ messages: [
      { role: 'user', content: `what is item ${i}?` },
      { role: 'assistant', content: 'It is a hearth.' },
    ] }) + '\n';
  }
  return out;
}

before(async () => {
  dir = await makeTempDir('hearth-e2e-ft-');
  const home = path.join(dir, 'home');
  await installModel(home, await synthTiny(dir), 'tiny');
  server = await startServer({ home, env: { HEARTH_TRAIN_THREADS: '1' } });
  client = openaiClient(server.url);
});

after(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('files + fineTuning.jobs train a local model that chat completions then serve', T, async () => {
  const train = path.join(dir, 'train.jsonl');
  const validation = path.join(dir, 'validation.jsonl');
  await writeFile(train, examples(0, 40));
  await writeFile(validation, examples(100, 8));
  const trainFile = await client.files.create({ file: createReadStream(train), purpose: 'fine-tune' });
  const validationFile = await client.files.create({ file: createReadStream(validation), purpose: 'fine-tune' });

  const question = [{ role: 'user', content: 'what is item 7?' }];
  const before = await client.chat.completions.create({ model: 'tiny', messages: question,
                                                        max_tokens: 8, temperature: 0 });

  let job = await client.fineTuning.jobs.create({
    model: 'tiny',
    training_file: trainFile.id,
    validation_file: validationFile.id,
    suffix: 'hearthy',
    method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 4, batch_size: 4,
                                                                   learning_rate_multiplier: 50 } } },
  });
  assert.match(job.id, /^ftjob-[0-9]+$/);
  assert.equal(job.object, 'fine_tuning.job');
  assert.equal(job.training_file, trainFile.id);
  assert.equal(job.validation_file, validationFile.id);
  assert.ok(['queued', 'running'].includes(job.status), job.status);

  const deadline = Date.now() + 240_000;
  while (!['succeeded', 'failed', 'cancelled'].includes(job.status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    job = await client.fineTuning.jobs.retrieve(job.id);
  }
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.match(job.fine_tuned_model, /^ft:tiny:latest:[^:]+:hearthy:[0-9]+$/);
  assert.ok(job.trained_tokens > 0);
  assert.equal(job.hyperparameters.n_epochs, 4);

  const events = [];
  for await (const e of client.fineTuning.jobs.listEvents(job.id, { limit: 5 })) events.push(e);
  assert.ok(events.length > 5, `only ${events.length} events`);
  assert.equal(events[0].object, 'fine_tuning.job.event');
  assert.match(events[0].message, /completed/);
  assert.ok(events.some((e) => /^step /.test(e.message)));

  const listed = [];
  for await (const j of client.fineTuning.jobs.list()) listed.push(j.id);
  assert.ok(listed.includes(job.id));

  const tuned = await client.chat.completions.create({ model: job.fine_tuned_model, messages: question,
                                                       max_tokens: 8, temperature: 0 });
  assert.match(tuned.choices[0].message.content, /hearth/);
  assert.notEqual(tuned.choices[0].message.content, before.choices[0].message.content);
});

test('unknown jobs, files and models are the client\'s NotFoundError', T, async () => {
  await assert.rejects(client.fineTuning.jobs.retrieve('ftjob-999999'), OpenAI.NotFoundError);
  await assert.rejects(client.fineTuning.jobs.create({ model: 'tiny', training_file: 'file-999999' }),
                       OpenAI.NotFoundError);
  await assert.rejects(client.fineTuning.jobs.create({ model: 'no-such-model', training_file: 'file-1' }),
                       OpenAI.NotFoundError);
  await assert.rejects(client.chat.completions.create({ model: 'ft:tiny:latest:x::999999',
                                                        messages: [{ role: 'user', content: 'hi' }] }),
                       OpenAI.NotFoundError);
});
