#!/usr/bin/env node
// Load and slow clients against `hearth serve`, for longer than the tests run (docs/load.md):
// a pool of idle connections kept open (reopened whenever the server closes one), many clients
// streaming chats back to back, clients that send their headers one byte at a time (slowloris)
// and clients that ask for a long streamed answer and never read it. Optionally the server runs
// on a PostgreSQL cluster of its own that is restarted halfway (--postgres).
//
// Prints one JSON object: chats served and failed, their latency (p50/p99/max, whole answer and
// first byte), idle connections opened and closed by the server, slow clients cut and after how
// long, server crashes, and the machine (CPU model, cores).
//
//   node bench/load.mjs [--hearth BIN] [--model FILE.gguf] [--seconds 60] [--idle 500]
//                       [--chats 50] [--slow 5] [--stuck 5] [--tokens 16] [--read-timeout 10]
//                       [--postgres]
//
// BIN defaults to $HEARTH_BIN, else build/release/src/cli/hearth; the model to the conformance
// pack's llama3-f16.gguf ($HEARTH_CONFORMANCE_DIR, else ../shared/conformance). Needs only Node.
import { spawn, execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const conformance = process.env.HEARTH_CONFORMANCE_DIR || path.join(repo, '../shared/conformance');
const o = {
  hearth: process.env.HEARTH_BIN || path.join(repo, 'build/release/src/cli/hearth'),
  model: path.join(conformance, 'models/llama3-f16.gguf'),
  seconds: 60, idle: 500, chats: 50, slow: 5, stuck: 5, tokens: 16, readTimeout: 10, postgres: false,
};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const next = () => process.argv[++i];
  if (a === '--hearth') o.hearth = path.resolve(next());
  else if (a === '--model') o.model = path.resolve(next());
  else if (a === '--seconds') o.seconds = Number(next());
  else if (a === '--idle') o.idle = Number(next());
  else if (a === '--chats') o.chats = Number(next());
  else if (a === '--slow') o.slow = Number(next());
  else if (a === '--stuck') o.stuck = Number(next());
  else if (a === '--tokens') o.tokens = Number(next());
  else if (a === '--read-timeout') o.readTimeout = Number(next());
  else if (a === '--postgres') o.postgres = true;
  else {
    process.stderr.write(`unknown argument ${a}; see the comment at the top of bench/load.mjs\n`);
    process.exit(2);
  }
}
const log = (...a) => process.stderr.write(`load: ${a.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(bin, args, env) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${bin} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function cpu() {
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  const m = info.match(/^model name\s*:\s*(.*)$/m);
  return { model: m ? m[1] : os.cpus()[0]?.model, cores: os.cpus().length };
}

const home = await mkdtemp(path.join(os.tmpdir(), 'hearth-load-'));
const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HEARTH_'))),
              HEARTH_HOME: home, HEARTH_LOG: 'error', HEARTH_READ_TIMEOUT: String(o.readTimeout) };
let pgDir = null;
if (o.postgres) {
  // Beside HEARTH_HOME, not in it: the cluster's owner (postgres, when we are root) must reach it.
  pgDir = await mkdtemp(path.join(os.tmpdir(), 'hearth-load-pg-'));
  env.HEARTH_DB = (await run('bash', [path.join(repo, 'scripts/postgres.sh'), 'start', pgDir], process.env)).trim();
}
await run(o.hearth, ['pull', o.model, '--name', 'tiny'], env);
const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const server = spawn(o.hearth, ['serve', '--host', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'pipe', 'inherit'] });
let crashed = 0;
let exited = null;
server.on('exit', (code, signal) => {
  exited = { code, signal };
  if (!stopping) crashed++;
});
let stopping = false;
await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    if (out.includes('listening on')) resolve();
  });
  setTimeout(() => reject(new Error(`no "listening" line: ${out}`)), 30000);
});
log(`server on port ${port}, ${o.seconds} s: ${o.idle} idle, ${o.chats} chatting, ${o.slow} slow, ${o.stuck} not reading`);

const started = Date.now();
const end = started + o.seconds * 1000;
const running = () => Date.now() < end;
const pct = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : null);

// Idle connections: opened and left silent; one the server closes (its read timeout) is opened
// again, so the pool stays full.
const idle = { opened: 0, closedByServer: 0 };
const idleSockets = new Set();
function openIdle() {
  const s = net.connect(port, '127.0.0.1');
  idle.opened++;
  idleSockets.add(s);
  s.on('error', () => {});
  s.on('close', () => {
    idleSockets.delete(s);
    if (!running() || stopping) return;
    idle.closedByServer++;
    openIdle();
  });
}
for (let i = 0; i < o.idle; i++) openIdle();

// Streaming chats back to back.
const agent = new http.Agent({ keepAlive: true, maxSockets: o.chats });
const chats = { served: 0, failed: 0, failedWhileDatabaseDown: 0, latency: [], firstByte: [], errors: {} };
let databaseDown = false;
const body = JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'Hello there' }],
                              stream: true, max_tokens: o.tokens, temperature: 0 });
function chatOnce() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let first = null;
    let text = '';
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent,
                               headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
                               timeout: 60000 }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d) => {
        if (first === null) first = performance.now() - t0;
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode, ok: res.statusCode === 200 && text.includes('[DONE]'),
                                    ms: performance.now() - t0, first, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 60 s')));
    req.on('error', (e) => resolve({ status: 0, ok: false, ms: performance.now() - t0, first, text: e.message }));
    req.end(body);
  });
}
async function chatter() {
  while (running()) {
    const down = databaseDown;
    const r = await chatOnce();
    if (r.ok) {
      chats.served++;
      chats.latency.push(r.ms);
      chats.firstByte.push(r.first);
    } else if (down || databaseDown) {
      chats.failedWhileDatabaseDown++;
      await sleep(50);
    } else {
      chats.failed++;
      const key = `${r.status} ${r.text.slice(0, 120)}`;
      chats.errors[key] = (chats.errors[key] || 0) + 1;
    }
  }
}

// Slowloris: one header byte every 500 ms; cut by the server after its read timeout, then again.
const slow = { cut: 0, secondsToCut: [] };
async function slowClient() {
  while (running()) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    const t0 = Date.now();
    const closed = new Promise((r) => s.on('close', r));
    const request = 'GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n' + 'X-Slow: a\r\n'.repeat(1000);
    let i = 0;
    let gone = false;
    closed.then(() => { gone = true; });
    while (!gone && running()) {
      s.write(request[i++ % request.length]);
      await Promise.race([sleep(500), closed]);
    }
    if (gone && running()) {
      slow.cut++;
      slow.secondsToCut.push((Date.now() - t0) / 1000);
    }
    s.destroy();
  }
}

// Clients that ask for a long streamed answer and never read it.
const stuckSockets = [];
function stuckClient() {
  const s = net.connect({ port, host: '127.0.0.1' });
  s.on('error', () => {});
  const b = JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'Tell me everything' }],
                             stream: true, max_tokens: 100000, temperature: 1 });
  s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`);
  s.pause();  // never read
  stuckSockets.push(s);
}
for (let i = 0; i < o.stuck; i++) stuckClient();

const work = [];
for (let i = 0; i < o.chats; i++) work.push(chatter());
for (let i = 0; i < o.slow; i++) work.push(slowClient());
let restart = null;
if (o.postgres) {
  restart = (async () => {
    await sleep((o.seconds * 1000) / 2);
    log('PostgreSQL down');
    databaseDown = true;
    await run('bash', [path.join(repo, 'scripts/postgres.sh'), 'down', pgDir], process.env);
    await sleep(3000);
    await run('bash', [path.join(repo, 'scripts/postgres.sh'), 'up', pgDir], process.env);
    log('PostgreSQL up');
    await sleep(1000);  // requests that met the database away finish (not counted as failures)
    databaseDown = false;
  })();
}
await Promise.all(work);
if (restart) await restart;
const version = await new Promise((resolve) => {
  http.get({ host: '127.0.0.1', port, path: '/api/version', timeout: 10000 }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
  }).on('error', () => resolve(0));
});
stopping = true;
for (const s of idleSockets) s.destroy();
for (const s of stuckSockets) s.destroy();
agent.destroy();
server.kill('SIGTERM');
const exitCode = await new Promise((resolve) => {
  if (exited) return resolve(exited.code);
  server.on('exit', (code) => resolve(code));
  setTimeout(() => resolve('no exit within 30 s'), 30000);
});
if (pgDir) await run('bash', [path.join(repo, 'scripts/postgres.sh'), 'stop', pgDir], process.env).catch(() => {});
await rm(home, { recursive: true, force: true });

const lat = chats.latency.sort((a, b) => a - b);
const fb = chats.firstByte.sort((a, b) => a - b);
const r1 = (x) => (x === null ? null : Math.round(x * 10) / 10);
const result = {
  date: new Date().toISOString(), cpu: cpu(), seconds: o.seconds,
  settings: { idle: o.idle, chats: o.chats, slow: o.slow, stuck: o.stuck, tokens: o.tokens,
              read_timeout_s: o.readTimeout, postgres: o.postgres },
  chats: { served: chats.served, failed: chats.failed, per_second: r1(chats.served / o.seconds),
           latency_ms: { p50: r1(pct(lat, 0.5)), p99: r1(pct(lat, 0.99)), max: r1(lat.at(-1) ?? null) },
           first_byte_ms: { p50: r1(pct(fb, 0.5)), p99: r1(pct(fb, 0.99)) }, errors: chats.errors,
           ...(o.postgres ? { failed_while_database_down: chats.failedWhileDatabaseDown } : {}) },
  idle: { opened: idle.opened, closed_by_server: idle.closedByServer },
  slowloris: { cut: slow.cut, seconds_to_cut: { min: r1(Math.min(...slow.secondsToCut)), max: r1(Math.max(...slow.secondsToCut)) } },
  after: { version_status: version, crashes: crashed, exit_code: exitCode },
};
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
process.exit(chats.failed === 0 && crashed === 0 && version === 200 && exitCode === 0 ? 0 : 1);
