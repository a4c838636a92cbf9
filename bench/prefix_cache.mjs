#!/usr/bin/env node
// The prompt (prefix) cache in serving: one stream at a time against `hearth serve` (and, beside
// it in the same run, a baseline hearth binary and llama.cpp's llama-server when given), on a
// Llama-3.2-1B-shaped model with random weights (content is ignored: temperature 0, a few tokens
// per answer).
//   chat:     a 10-turn chat; every turn resends the whole history (system prompt, every
//             question and answer so far) plus a new question. Time to first token per turn.
//   repeated: the same ~60-token system prompt with a short question, sent again and again.
//             Time to first token and end-to-end tokens/s (completion tokens / request time).
// The servers run side by side and take turns request by request, so the machine's other load
// falls on all of them alike. Prints one JSON object (ratios included).
//
//   node bench/prefix_cache.mjs [--hearth BIN] [--baseline BIN] [--llama-server BIN]
//                               [--model FILE.gguf] [--turns 10] [--repeats 8] [--tokens 16]
//                               [--threads 2] [--words 40]
//
// --words: the length of each chat question (about 1.3 tokens a word).
//
// BIN defaults to $HEARTH_BIN, else build/release/src/cli/hearth. Without --model the synthetic
// model is written once to build/bench-models/ and reused. Needs only Node (18+).
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (...a) => process.stderr.write(`prefix_cache: ${a.join(' ')}\n`);

function parseArgs(argv) {
  const o = {
    hearth: process.env.HEARTH_BIN || path.join(repo, 'build/release/src/cli/hearth'),
    baseline: null, llama: null, model: null, turns: 10, repeats: 8, tokens: 16, threads: 2,
    words: 40,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--hearth') o.hearth = path.resolve(next());
    else if (a === '--baseline') o.baseline = path.resolve(next());
    else if (a === '--llama-server') o.llama = path.resolve(next());
    else if (a === '--model') o.model = path.resolve(next());
    else if (a === '--turns') o.turns = Number(next());
    else if (a === '--repeats') o.repeats = Number(next());
    else if (a === '--tokens') o.tokens = Number(next());
    else if (a === '--threads') o.threads = Number(next());
    else if (a === '--words') o.words = Number(next());
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node bench/prefix_cache.mjs [--hearth BIN] [--baseline BIN] ' +
        '[--llama-server BIN] [--model FILE.gguf] [--turns 10] [--repeats 8] [--tokens 16] ' +
        '[--threads 2] [--words 40]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  if (!(o.turns >= 1 && o.repeats >= 1 && o.tokens >= 1 && o.threads >= 1))
    throw new Error('bad --turns, --repeats, --tokens or --threads');
  return o;
}

function env(home, extra = {}) {
  const e = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HEARTH_')) e[k] = v;
  return { ...e, HEARTH_HOME: home, HEARTH_LOG: 'warn', ...extra };
}

function run(bin, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 64 << 20, ...options }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${path.basename(bin)} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitFor(child, output, ready) {
  let exited = false;
  child.on('exit', () => { exited = true; });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !exited) {
    const url = await ready();
    if (url) return url;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`a server did not start:\n${output()}`);
}

function spawnLogged(bin, args, options) {
  const child = spawn(bin, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output = (output + d).slice(-20000); });
  child.stderr.on('data', (d) => { output = (output + d).slice(-20000); });
  return { child, output: () => output };
}

// `hearth serve` with its own home (the model installed as "bench").
async function startHearth(name, bin, o, modelFile) {
  const home = await mkdtemp(path.join(os.tmpdir(), `prefix-bench-${name}-`));
  await run(bin, ['pull', modelFile, '--name', 'bench', '--force'], { env: env(home) });
  const extra = { HEARTH_KEEP_ALIVE: '-1', HEARTH_THREADS: String(o.threads) };
  const p = spawnLogged(bin, ['serve', '--host', '127.0.0.1:0'], { env: env(home, extra) });
  const url = await waitFor(p.child, p.output,
                            async () => /listening on (http:\/\/\S+)/.exec(p.output())?.[1]);
  return { name, url, model: 'bench', child: p.child, home };
}

async function startLlama(bin, o, modelFile) {
  const port = await freePort();
  const p = spawnLogged(bin, ['-m', modelFile, '-t', String(o.threads), '-c', '4096',
                              '--host', '127.0.0.1', '--port', String(port)], {});
  const url = `http://127.0.0.1:${port}`;
  await waitFor(p.child, p.output, async () => {
    try {
      return (await fetch(`${url}/health`)).status === 200 ? url : null;
    } catch {
      return null;
    }
  });
  return { name: 'llama-server', url, model: 'bench', child: p.child, home: null };
}

// One streaming chat completion: time to the first text, whole time, tokens, answer text.
async function chat(server, messages, maxTokens) {
  const t0 = performance.now();
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: server.model, messages, max_tokens: maxTokens, temperature: 0,
                           stream: true, stream_options: { include_usage: true } }),
  });
  if (res.status !== 200) throw new Error(`${server.name}: status ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let buffer = '', text = '', ttft = null, usage = null;
  for await (const piece of res.body) {
    buffer += decoder.decode(piece, { stream: true });
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i).trim();
      buffer = buffer.slice(i + 1);
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') continue;
      const chunk = JSON.parse(data);
      const delta = chunk.choices?.[0]?.delta ?? {};
      const got = (delta.content ?? '') + (delta.reasoning_content ?? '');
      if (got && ttft === null) ttft = performance.now() - t0;
      text += delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
  }
  const total = performance.now() - t0;
  return { ttft: ttft ?? total, total, tokens: usage?.completion_tokens ?? 0,
           promptTokens: usage?.prompt_tokens ?? null, text };
}

// Text that tokenizes to roughly `words` × 1.3 tokens, different per seed.
const vocabulary = ('river stone garden window morning letter travel silver market winter ' +
  'candle forest bridge signal harbor engine theory island mirror pocket thunder lantern ' +
  'meadow castle rocket velvet puzzle canyon orbit meadow copper ribbon').split(' ');
function words(n, seed) {
  const out = [];
  let x = seed * 2654435761 % 4294967296;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(vocabulary[x % vocabulary.length]);
  }
  return out.join(' ');
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2 : null;
};
const r3 = (x) => (x === null || x === undefined ? null : Math.round(x * 1000) / 1000);

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(o.hearth)) throw new Error(`no hearth binary at ${o.hearth} (build it: make)`);
  let modelFile = o.model;
  if (!modelFile) {
    const dir = path.join(repo, 'build/bench-models');
    modelFile = path.join(dir, 'llama-3.2-1b-q4_0-synth.gguf');
    if (!existsSync(modelFile)) {
      await mkdir(dir, { recursive: true });
      log(`writing ${modelFile} (hearth synth; once)`);
      await run(o.hearth, ['synth', '--shape', 'llama-3.2-1b', '--type', 'q4_0', '-o', modelFile]);
    }
  }
  const servers = running;
  try {
    log('starting the servers');
    servers.push(await startHearth('hearth', o.hearth, o, modelFile));
    if (o.baseline) servers.push(await startHearth('baseline', o.baseline, o, modelFile));
    if (o.llama) servers.push(await startLlama(o.llama, o, modelFile));
    const system = `You are a careful assistant. ${words(45, 1)}.`;  // about 60 tokens
    for (const s of servers) await chat(s, [{ role: 'user', content: 'hello' }], 2);  // loads

    // The chat: each server keeps its own history (its own answers), turn by turn in lockstep.
    const histories = servers.map(() => [{ role: 'system', content: system }]);
    const turns = servers.map(() => []);
    for (let t = 0; t < o.turns; t++) {
      for (let i = 0; i < servers.length; i++) {
        const h = histories[i];
        h.push({ role: 'user', content: `Question ${t + 1}: ${words(o.words, 100 + t)}?` });
        const r = await chat(servers[i], h, o.tokens);
        h.push({ role: 'assistant', content: r.text });
        turns[i].push({ turn: t + 1, prompt_tokens: r.promptTokens, ttft_ms: r3(r.ttft) });
      }
      log(`turn ${t + 1}: ${servers.map((s, i) => `${s.name} ${Math.round(turns[i][t].ttft_ms)} ms`).join(', ')}`);
    }

    // The repeated prefix: the same request again and again, servers taking turns.
    const repeated = servers.map(() => []);
    const messages = [{ role: 'system', content: system },
                      { role: 'user', content: 'Say something about rivers.' }];
    for (let k = 0; k < o.repeats; k++)
      for (let i = 0; i < servers.length; i++) repeated[i].push(await chat(servers[i], messages, o.tokens));

    const result = {
      benchmark: 'prefix_cache',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? null,
                 load_average: os.loadavg().map(r3) },
      model: path.basename(modelFile),
      settings: { turns: o.turns, question_words: o.words, repeats: o.repeats, max_tokens: o.tokens, threads: o.threads,
                  temperature: 0 },
      servers: {},
    };
    servers.forEach((s, i) => {
      const tt = turns[i];
      const at = (n) => tt[Math.min(n, tt.length) - 1];
      const rep = repeated[i].slice(1);  // the first one fills the cache
      const tokens = rep.reduce((a, x) => a + x.tokens, 0);
      const seconds = rep.reduce((a, x) => a + x.total, 0) / 1000;
      result.servers[s.name] = {
        chat: {
          turn_1_ttft_ms: at(1).ttft_ms, turn_5_ttft_ms: at(5).ttft_ms,
          turn_10_ttft_ms: at(10).ttft_ms,
          turn_10_vs_turn_1: r3(at(10).ttft_ms / at(1).ttft_ms),
          turn_10_prompt_tokens: at(10).prompt_tokens, turns: tt,
        },
        repeated: {
          prompt_tokens: repeated[i][0].promptTokens,
          ttft_ms_median: r3(median(rep.map((x) => x.ttft))),
          end_to_end_tokens_per_s: r3(rep.length ? tokens / seconds : null),
        },
      };
    });
    const me = result.servers.hearth;
    for (const other of ['baseline', 'llama-server']) {
      const x = result.servers[other];
      if (!x) continue;
      me[`vs_${other}`] = {
        turn_10_ttft: r3(me.chat.turn_10_ttft_ms / x.chat.turn_10_ttft_ms),
        repeated_ttft: r3(me.repeated.ttft_ms_median / x.repeated.ttft_ms_median),
        repeated_tokens_per_s: r3(me.repeated.end_to_end_tokens_per_s /
                                  x.repeated.end_to_end_tokens_per_s),
      };
    }
    result.machine.load_average_end = os.loadavg().map(r3);
    process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
  } finally {
    for (const s of servers) {
      s.child.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => { s.child.kill('SIGKILL'); r(); }, 5000);
        s.child.on('exit', () => { clearTimeout(t); r(); });
        if (s.child.exitCode !== null) { clearTimeout(t); r(); }
      });
      if (s.home) await rm(s.home, { recursive: true, force: true });
    }
  }
}

// Servers started so far: stopped on the way out, also when this script is interrupted.
const running = [];
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    for (const s of running) s.child.kill('SIGKILL');
    process.exit(1);
  });

main().catch((e) => {
  process.stderr.write(`prefix_cache: ${e.stack || e.message}\n`);
  process.exit(1);
});
