// The real `openai` npm client (v4) against hearth's Files API (/v1/files): a JSONL file sent
// as a stream with files.create, then files.list / retrieve / content / del, and the errors
// the client raises for a file that is not chat fine-tuning data and for a missing id.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import OpenAI from 'openai';
import { makeTempDir, startServer } from './lib/hearth.js';
import { openaiClient } from './lib/util.js';

let dir;
let server;
let client;
const T = { timeout: 60_000 };

// Chat examples in OpenAI's fine-tuning format, one per line.
function chatJsonl(lines) {
  let out = '';
  for (let i = 0; i < lines; i++) {
    out += JSON.stringify({ messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: `question ${i}` },
      { role: 'assistant', content: `answer ${i}` },
    ] }) + '\n';
  }
  return out;
}

// Every file kept under the server's uploads folder.
async function storedFiles() {
  try {
    const entries = await readdir(path.join(server.home, 'uploads'), { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile());
  } catch {
    return [];
  }
}

before(async () => {
  dir = await makeTempDir('hearth-e2e-files-');
  server = await startServer();
  client = openaiClient(server.url);
});

after(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('files.create streams a JSONL file; list, retrieve, content and del follow', T, async () => {
  const content = chatJsonl(50);
  const file = path.join(dir, 'train.jsonl');
  await writeFile(file, content);

  const created = await client.files.create({ file: createReadStream(file), purpose: 'fine-tune' });
  assert.match(created.id, /^file-[1-9][0-9]*$/);
  assert.equal(created.object, 'file');
  assert.equal(created.bytes, Buffer.byteLength(content));
  assert.equal(created.filename, 'train.jsonl');
  assert.equal(created.purpose, 'fine-tune');
  assert.equal(created.status, 'processed');
  assert.ok(Math.abs(created.created_at - Date.now() / 1000) < 600, `created_at ${created.created_at}`);
  assert.equal((await storedFiles()).length, 1);

  const listed = [];
  for await (const f of client.files.list()) listed.push(f);
  assert.deepEqual(listed.map((f) => f.id), [created.id]);
  assert.equal(listed[0].bytes, created.bytes);

  const retrieved = await client.files.retrieve(created.id);
  assert.deepEqual(retrieved, created);

  const body = await client.files.content(created.id);
  assert.equal(await body.text(), content);

  const deleted = await client.files.del(created.id);
  assert.deepEqual(deleted, { id: created.id, object: 'file', deleted: true });
  await assert.rejects(client.files.retrieve(created.id), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError, `${e}`);
    return true;
  });
  assert.equal((await storedFiles()).length, 0);
});

test('a file that is not chat fine-tuning data is a BadRequestError naming the line', T, async () => {
  const file = path.join(dir, 'bad.jsonl');
  await writeFile(file, chatJsonl(2) + '{"messages": "not a list"}\n');
  await assert.rejects(client.files.create({ file: createReadStream(file), purpose: 'fine-tune' }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, `${e}`);
    assert.match(e.message, /line 3/);
    return true;
  });
  const other = path.join(dir, 'ok.jsonl');
  await writeFile(other, chatJsonl(2));
  await assert.rejects(client.files.create({ file: createReadStream(other), purpose: 'assistants' }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, `${e}`);
    assert.match(e.message, /"fine-tune"/);
    return true;
  });
  assert.equal((await storedFiles()).length, 0);
});
