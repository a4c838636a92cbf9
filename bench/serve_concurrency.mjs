#!/usr/bin/env node
// Serving under concurrency: `hearth serve` with a Llama-3.2-1B-shaped model (random weights,
// Q4_0, from `hearth synth`), 1, 4 and 8 concurrent streaming chat completions (one fixed
// prompt, temperature 0, 64 tokens each) over raw HTTP. Prints one JSON object: per concurrency
// the aggregate generation tokens/s, its ratio to one stream, per-stream tokens/s and the time
// to first token (p50/p99); beside them, from `hearth bench` in the same run, the machine's read
// bandwidth and the engine's own single-stream generation speed, so the figures can be compared
// across machines.
//
//   node bench/serve_concurrency.mjs [--hearth BIN] [--model FILE.gguf] [--levels 1,4,8]
//                                    [--tokens 64] [--rounds 2] [--threads N] [--no-engine-bench]
//                                    [--interference] [--long-words 1500]
//
// --interference measures instead how a long prompt disturbs running streams: 3 streams decode
// (num_parallel 4) and, once they run, a request with a long prompt (--long-words words, about
// 2,000 tokens) arrives; printed are the 3 streams' inter-token latencies (p50, p99, max) while
// that prompt is prefilled and over their whole run, and the long request's time to first token.
//
// BIN defaults to $HEARTH_BIN, else build/release/src/cli/hearth. Without --model the synthetic
// model is written once to build/bench-models/ and reused. Needs only Node (18+), no npm packages.
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const o = {
    hearth: process.env.HEARTH_BIN || path.join(repo, 'build/release/src/cli/hearth'),
    model: null, levels: [1, 4, 8], tokens: 64, rounds: 2, threads: 0, engineBench: true,
    interference: false, longWords: 1500,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--hearth') o.hearth = path.resolve(next());
    else if (a === '--model') o.model = path.resolve(next());
    else if (a === '--levels') o.levels = next().split(',').map(Number);
    else if (a === '--tokens') o.tokens = Number(next());
    else if (a === '--rounds') o.rounds = Number(next());
    else if (a === '--threads') o.threads = Number(next());
    else if (a === '--no-engine-bench') o.engineBench = false;
    else if (a === '--interference') o.interference = true;
    else if (a === '--long-words') o.longWords = Number(next());
    else if (a === '-h' || a === '--help') {
      process.stdout.write(fileContentsHelp());
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  if (!o.levels.every((n) => Number.isInteger(n) && n >= 1)) throw new Error('bad --levels');
  if (!o.levels.includes(1)) o.levels.unshift(1);  // the ratios need one stream
  if (!(o.tokens >= 1 && o.rounds >= 1)) throw new Error('bad --tokens or --rounds');
  return o;
}

function fileContentsHelp() {
  return 'usage: node bench/serve_concurrency.mjs [--hearth BIN] [--model FILE.gguf] ' +
         '[--levels 1,4,8] [--tokens 64] [--rounds 2] [--threads N] [--no-engine-bench] ' +
         '[--interference] [--long-words 1500]\n';
}

const log = (...a) => process.stderr.write(`serve_concurrency: ${a.join(' ')}\n`);

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

async function ensureModel(o) {
  if (o.model) return { file: o.model, synthetic: false };
  const dir = path.join(repo, 'build/bench-models');
  const file = path.join(dir, 'llama-3.2-1b-q4_0-synth.gguf');
  if (!existsSync(file)) {
    await mkdir(dir, { recursive: true });
    log(`writing ${file} (hearth synth --shape llama-3.2-1b --type q4_0; once)`);
    await run(o.hearth, ['synth', '--shape', 'llama-3.2-1b', '--type', 'q4_0', '-o', file]);
  }
  return { file, synthetic: true };
}

async function startServer(o, home, numParallel) {
  const extra = { HEARTH_NUM_PARALLEL: String(numParallel), HEARTH_KEEP_ALIVE: '-1' };
  if (o.threads) extra.HEARTH_THREADS = String(o.threads);
  const child = spawn(o.hearth, ['serve', '--host', '127.0.0.1:0'],
                      { env: env(home, extra), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = false;
  child.on('exit', () => { exited = true; });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !exited) {
    const m = /listening on (http:\/\/\S+)/.exec(output);
    if (m) return { child, url: m[1], output: () => output };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`hearth serve did not start:\n${output}`);
}

// One streaming chat completion; times in ms from the request (`arrivals`, when given, gets
// the time of every piece of text, in ms from the epoch of performance.now()).
async function stream(url, body, arrivals = null) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let buffer = '';
  let ttft = null;
  let usage = null;
  let done = false;
  for await (const piece of res.body) {
    buffer += decoder.decode(piece, { stream: true });
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i).trim();
      buffer = buffer.slice(i + 1);
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      const chunk = JSON.parse(data);
      if (chunk.choices?.[0]?.delta?.content) {
        const now = performance.now();
        if (ttft === null) ttft = now - t0;
        if (arrivals) arrivals.push(now);
      }
      if (chunk.usage) usage = chunk.usage;
    }
  }
  const total = performance.now() - t0;
  if (!done || !usage) throw new Error('the stream ended without usage and [DONE]');
  return { ttft: ttft ?? total, total, tokens: usage.completion_tokens,
           promptTokens: usage.prompt_tokens };
}

function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return null;
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

const round3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000);

// Words that tokenize to roughly 1.3 tokens each, the same every run.
function longText(n) {
  const vocabulary = ('river stone garden window morning letter travel silver market winter ' +
    'candle forest bridge signal harbor engine theory island mirror pocket thunder lantern ' +
    'meadow castle rocket velvet puzzle canyon orbit copper ribbon').split(' ');
  const out = [];
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(vocabulary[x % vocabulary.length]);
  }
  return out.join(' ');
}

// 3 streams decode; a long prompt arrives once they run. Their inter-token gaps while it is
// prefilled (from its submission to its first token) and over their whole run.
async function interference(o, url) {
  const streamBody = {
    model: 'bench', temperature: 0, max_tokens: o.tokens,
    messages: [{ role: 'user', content: 'Write a short story about a lighthouse keeper.' }],
  };
  const arrivals = [[], [], []];
  const streams = arrivals.map((a) => stream(url, streamBody, a));
  // The long request comes once every stream has 8 tokens out.
  while (arrivals.some((a) => a.length < 8)) await new Promise((r) => setTimeout(r, 5));
  const longBody = {
    model: 'bench', temperature: 0, max_tokens: 4,
    messages: [{ role: 'user', content: `Summarise: ${longText(o.longWords)}` }],
  };
  const t0 = performance.now();
  const long = await stream(url, longBody);
  const window = [t0, t0 + long.ttft];
  const results = await Promise.all(streams);
  const gaps = [], during = [];
  for (const a of arrivals)
    for (let i = 1; i < a.length; i++) {
      const gap = a[i] - a[i - 1];
      gaps.push(gap);
      if (a[i] > window[0] && a[i - 1] < window[1]) during.push(gap);
    }
  const stats = (v) => ({ n: v.length, p50: round3(percentile(v, 50)), p99: round3(percentile(v, 99)),
                          max: round3(v.length ? Math.max(...v) : null) });
  return {
    long_prompt_tokens: long.promptTokens,
    long_ttft_ms: round3(long.ttft),
    stream_tokens: results.map((r) => r.tokens),
    inter_token_ms_during_prefill: stats(during),
    inter_token_ms_all: stats(gaps),
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(o.hearth)) throw new Error(`no hearth binary at ${o.hearth} (build it: make)`);
  const model = await ensureModel(o);
  const modelBytes = (await stat(model.file)).size;

  // Same file system as the model, so the import hard-links instead of copying.
  const home = await mkdtemp(path.join(path.dirname(model.file), 'serve-bench-home-'));
  let server;
  try {
    let engine = null;
    if (o.engineBench) {
      log('measuring read bandwidth and engine generation speed (hearth bench)');
      const args = ['bench', model.file, '-p', '0', '-n', String(o.tokens), '-r', '1', '--json'];
      if (o.threads) args.push('-t', String(o.threads));
      engine = JSON.parse(await run(o.hearth, args, { env: env(home) }));
    }
    log('installing the model');
    await run(o.hearth, ['pull', model.file, '--name', 'bench', '--force'], { env: env(home) });
    const maxLevel = o.interference ? 4 : Math.max(...o.levels);
    server = await startServer(o, home, maxLevel);
    const body = {
      model: 'bench', temperature: 0, max_tokens: o.tokens,
      messages: [{ role: 'user', content: 'Write a short story about a lighthouse keeper who finds a message in a bottle.' }],
    };
    log('loading the model (warm-up request)');
    await stream(server.url, { ...body, max_tokens: 4 });
    if (o.interference) {
      const runs = [];
      for (let r = 0; r < o.rounds; r++) runs.push(await interference(o, server.url));
      const result = {
        benchmark: 'serve_interference', date: new Date().toISOString(),
        machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? null,
                   load_average: os.loadavg().map(round3) },
        model: { file: path.basename(model.file), synthetic_random_weights: model.synthetic },
        settings: { stream_tokens: o.tokens, long_words: o.longWords, threads: o.threads || 'default',
                    rounds: o.rounds },
        runs,
      };
      process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
      return;
    }

    const levels = [];
    for (const c of o.levels) {
      const runs = [];
      let tokens = 0;
      let wall = 0;
      for (let r = 0; r < o.rounds; r++) {
        const t0 = performance.now();
        const results = await Promise.all(Array.from({ length: c }, () => stream(server.url, body)));
        wall += (performance.now() - t0) / 1000;
        for (const x of results) tokens += x.tokens;
        runs.push(...results);
      }
      const perStream = runs.map((x) => (x.tokens > 1 ? (x.tokens - 1) / ((x.total - x.ttft) / 1000) : 0));
      const ttfts = runs.map((x) => x.ttft);
      const level = {
        concurrency: c,
        requests: runs.length,
        completion_tokens: tokens,
        min_tokens_per_request: Math.min(...runs.map((x) => x.tokens)),
        prompt_tokens: runs[0].promptTokens,
        wall_s: round3(wall),
        aggregate_tokens_per_s: round3(tokens / wall),
        per_stream_tokens_per_s_p50: round3(percentile(perStream, 50)),
        ttft_ms: { p50: round3(percentile(ttfts, 50)), p99: round3(percentile(ttfts, 99)) },
      };
      levels.push(level);
      log(`${c} stream(s): ${level.aggregate_tokens_per_s} tokens/s aggregate, TTFT p50 ` +
          `${level.ttft_ms.p50} ms`);
    }
    const one = levels.find((l) => l.concurrency === 1).aggregate_tokens_per_s;
    for (const l of levels) l.ratio_vs_1 = round3(l.aggregate_tokens_per_s / one);

    const result = {
      benchmark: 'serve_concurrency',
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? null,
        read_bandwidth_gbps: engine?.read_bandwidth_gbps ?? null,
        load_average: os.loadavg().map(round3),  // other work on the machine skews everything
      },
      model: { file: path.basename(model.file), synthetic_random_weights: model.synthetic,
               bytes: modelBytes },
      settings: { tokens_per_request: o.tokens, rounds: o.rounds, temperature: 0,
                  num_parallel: maxLevel, threads: o.threads || 'default' },
      engine_single_stream: engine,
      levels,
    };
    if (engine) {
      const tg = engine.tg_tokens_per_s ?? engine.tg?.tokens_per_s ?? null;
      if (typeof tg === 'number') result.server_1_stream_vs_engine = round3(one / tg);
    }
    process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
  } finally {
    if (server) {
      server.child.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => { server.child.kill('SIGKILL'); r(); }, 5000);
        server.child.on('exit', () => { clearTimeout(t); r(); });
      });
    }
    await rm(home, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`serve_concurrency: ${e.stack || e.message}\n`);
  process.exit(1);
});
