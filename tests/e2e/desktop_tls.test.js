// The desktop connector over TLS: a hub with a self-signed certificate for 127.0.0.1 (made here
// with the openssl CLI), an agent that trusts it with --ca (wss://), chats through the hub over
// HTTPS; without --ca the agent refuses the hub's certificate, says so, and keeps retrying.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { MODEL, startDesktopFixture, listAgents, poll } from './lib/desktop.js';
import { makeTempDir } from './lib/hearth.js';

// The certificate is made with the openssl CLI; without it these tests are skipped, saying why.
const openssl = await promisify(execFile)('openssl', ['version']).then(() => true, () => false);
const T = { timeout: 60_000, skip: openssl ? false : 'the openssl CLI is not installed' };
const refusal = /certificate|verif|self[- ]signed|handshake|\bssl\b|\btls\b/i;
let fx;
let certDir;
let cert;
let ca;
let ada;
let agentId;

before(async () => {
  if (!openssl) return;
  certDir = await makeTempDir('hearth-e2e-tls-');
  cert = path.join(certDir, 'cert.pem');
  const key = path.join(certDir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ]);
  ca = await readFile(cert, 'utf8');
  fx = await startDesktopFixture({ agents: 2, hubArgs: ['--tls-cert', cert, '--tls-key', key] });
  ada = fx.tokens.ada;
});

after(async () => {
  await fx?.stop();
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

test('the hub serves HTTPS', T, () => {
  assert.match(fx.url, /^https:\/\/127\.0\.0\.1:\d+$/);
});

test('an agent given the certificate with --ca connects over wss:// and chats stream through the hub', T, async () => {
  const agent = await fx.agent({ token: ada, home: fx.homes[0], name: 'tls-laptop', args: ['--ca', cert] });
  const c = await agent.waitConnected();
  agentId = c.id;
  const listed = await poll(async () => {
    const a = (await listAgents(fx.url, ada, { ca })).find((x) => x.id === agentId);
    return a?.status === 'connected' ? a : null;
  });
  assert.ok(listed, 'the hub does not list the agent connected');

  const client = new OpenAI({ baseURL: `${fx.url}/v1`, apiKey: ada, maxRetries: 0, timeout: 30_000,
                              httpAgent: new https.Agent({ ca }) });
  const stream = await client.chat.completions.create({
    model: MODEL, temperature: 0, max_tokens: 16, stream: true,
    messages: [{ role: 'user', content: 'Name three colours of the rainbow.' }],
  });
  let text = '';
  let finish = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.ok(chunks >= 2 && text.length > 0, `${chunks} chunks, text "${text}"`);
  assert.ok(['stop', 'length'].includes(finish), `finish ${finish}`);
  await agent.stop();
});

test('without --ca the agent refuses the hub\'s certificate, says so and keeps retrying', T, async () => {
  const agent = await fx.agent({ home: fx.homes[0], name: 'tls-laptop' });  // kept credentials
  await agent.waitOutput(refusal, { timeoutMs: 15_000, what: 'word of the refused certificate' });
  // Two failed attempts in a row (backoff 0.5 s, then 1 s): it keeps trying.
  await agent.waitOutput(/retrying in[\s\S]*retrying in/, { timeoutMs: 15_000, what: 'a second retry' });
  assert.equal(agent.exited, null, 'the agent gave up');
  assert.deepEqual(agent.connections(), [], 'the agent connected without trusting the certificate');
  const a = (await listAgents(fx.url, ada, { ca })).find((x) => x.id === agentId);
  assert.equal(a?.status, 'disconnected');
  await agent.stop();
});

test('a first start without --ca cannot register with the hub', T, async () => {
  const agent = await fx.agent({ token: ada, home: fx.homes[1], name: 'tls-other' });
  await agent.waitOutput(refusal, { timeoutMs: 15_000, what: 'word of the refused certificate' });
  assert.deepEqual(agent.connections(), []);
  await agent.stop();
  const all = await listAgents(fx.url, ada, { ca });
  assert.deepEqual(all.map((x) => x.id), [agentId], 'an agent registered over an untrusted connection');
});
