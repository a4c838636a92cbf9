#!/usr/bin/env node
// What routing a chat through a hub to a desktop agent costs (docs/desktop-protocol.md): a hub
// (`hearth serve`, one user with a token) and one agent (`hearth agent --serve`) on loopback,
// the agent holding the model. N streaming chat completions go straight to the agent's own API
// and N through the hub (same body: one fixed prompt, temperature 0, fixed max_tokens),
// alternating one by one, one at a time. Prints one JSON object: for each path the median and
// p90 of the time to first token, of the decode speed (tokens/s after the first token) and of
// the gaps between pieces of text, and the hub's added latency (hub − direct) and ratio
// (hub / direct).
//
//   node bench/hub_routing.mjs [--hearth BIN] [--model FILE.gguf] [--requests 20] [--tokens 64]
//                              [--threads N]
//
// BIN defaults to $HEARTH_BIN, else build/release/src/cli/hearth. Without --model the tiny
// synthetic model (`hearth synth --shape tiny`: thousands of tokens/s, so the hub's own cost is
// what shows) is written to a temporary folder. Needs only Node (18+), no npm packages.
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (...a) => process.stderr.write(`hub_routing: ${a.join(' ')}\n`);

function parseArgs(argv) {
  const o = { hearth: process.env.HEARTH_BIN || path.join(repo, 'build/release/src/cli/hearth'),
              model: null, requests: 20, tokens: 64, threads: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--hearth') o.hearth = path.resolve(next());
    else if (a === '--model') o.model = path.resolve(next());
    else if (a === '--requests') o.requests = Number(next());
    else if (a === '--tokens') o.tokens = Number(next());
    else if (a === '--threads') o.threads = Number(next());
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node bench/hub_routing.mjs [--hearth BIN] [--model FILE.gguf] ' +
                           '[--requests 20] [--tokens 64] [--threads N]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  if (!(Number.isInteger(o.requests) && o.requests >= 2)) throw new Error('--requests must be 2 or more');
  if (!(Number.isInteger(o.tokens) && o.tokens >= 2)) throw new Error('--tokens must be 2 or more');
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

// A child process whose output is kept; waitFor(re) resolves to the first match.
function start(bin, args, childEnv) {
  const child = spawn(bin, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { child, output: '', exited: false };
  child.stdout.on('data', (d) => { p.output += d; });
  child.stderr.on('data', (d) => { p.output += d; });
  child.on('exit', () => { p.exited = true; });
  p.waitFor = async (re, what, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !p.exited) {
      const m = re.exec(p.output);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`${args[0]}: no ${what}; output:\n${p.output}`);
  };
  p.stop = () => new Promise((resolve) => {
    if (p.exited) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.on('exit', () => { clearTimeout(t); resolve(); });
    child.kill('SIGTERM');
  });
  return p;
}

// One streaming chat completion; times in ms from the request.
async function stream(url, body, headers = {}) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  });
  if (res.status !== 200) throw new Error(`${url}: status ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let buffer = '';
  let ttft = null;
  let usage = null;
  let done = false;
  let text = '';
  let last = null;  // ms from the request to the latest piece
  const gaps = [];  // ms between pieces of text: what a reader sees as smoothness
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
      if (chunk.error) throw new Error(`${url}: ${JSON.stringify(chunk.error)}`);
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) {
        const now = performance.now() - t0;
        if (ttft === null) ttft = now;
        if (last !== null) gaps.push(now - last);
        last = now;
        text += delta;
      }
      if (chunk.usage) usage = chunk.usage;
    }
  }
  const total = performance.now() - t0;
  if (!done || !usage) throw new Error(`${url}: the stream ended without usage and [DONE]`);
  ttft = ttft ?? total;
  last = last ?? total;
  const tokens = usage.completion_tokens;
  // Decode speed between the first and the last piece; the tail (last piece to the end of the
  // stream: the usage chunk, [DONE], what the server does before closing) apart.
  return { ttft, total, tokens, text, gaps, tail: total - last,
           decode_tps: tokens > 1 && last > ttft ? (tokens - 1) / ((last - ttft) / 1000) : null };
}

function percentile(values, p) {
  const s = values.filter((v) => v !== null).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

const r3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000);

function summary(runs) {
  const ttft = runs.map((x) => x.ttft);
  const tps = runs.map((x) => x.decode_tps);
  const total = runs.map((x) => x.total);
  const tail = runs.map((x) => x.tail);
  const gaps = runs.flatMap((x) => x.gaps);
  return {
    requests: runs.length,
    completion_tokens_min: Math.min(...runs.map((x) => x.tokens)),
    ttft_ms: { median: r3(percentile(ttft, 50)), p90: r3(percentile(ttft, 90)) },
    total_ms: { median: r3(percentile(total, 50)), p90: r3(percentile(total, 90)) },
    tail_ms: { median: r3(percentile(tail, 50)), p90: r3(percentile(tail, 90)) },
    decode_tokens_per_s: { median: r3(percentile(tps, 50)), p90_slowest: r3(percentile(tps, 10)) },
    piece_gap_ms: { median: r3(percentile(gaps, 50)), p90: r3(percentile(gaps, 90)),
                    p99: r3(percentile(gaps, 99)) },
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(o.hearth)) throw new Error(`no hearth binary at ${o.hearth} (build it: make)`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hub-routing-bench-'));
  const procs = [];
  try {
    let model = o.model;
    if (!model) {
      model = path.join(dir, 'tiny.gguf');
      await run(o.hearth, ['synth', '--shape', 'tiny', '--type', 'F16', '--seed', '1', '-o', model],
                { env: env(dir) });
    }
    const hw = JSON.parse(await run(o.hearth, ['hw', '--json'], { env: env(dir) }));
    const hubHome = path.join(dir, 'hub');
    const agentHome = path.join(dir, 'agent');
    await run(o.hearth, ['user', 'add', 'bench'], { env: env(hubHome) });
    const token = /\bhearth_[A-Za-z0-9_-]{43}\b/.exec(
      await run(o.hearth, ['token', 'create', '--user', 'bench'], { env: env(hubHome) }))?.[0];
    if (!token) throw new Error('hearth token create printed no token');
    await run(o.hearth, ['pull', model, '--name', 'bench'], { env: env(agentHome) });

    const hub = start(o.hearth, ['serve', '--host', '127.0.0.1:0'], env(hubHome));
    procs.push(hub);
    const hubUrl = (await hub.waitFor(/listening on (http:\/\/\S+)/, '"listening on"'))[1];
    const extra = { HEARTH_KEEP_ALIVE: '-1' };
    if (o.threads) extra.HEARTH_THREADS = String(o.threads);
    const agent = start(o.hearth, ['agent', '--hub', hubUrl, '--token', token, '--name', 'bench',
                                   '--serve', '--host', '127.0.0.1:0'], env(agentHome, extra));
    procs.push(agent);
    const agentUrl = (await agent.waitFor(/listening on (http:\/\/\S+)/, '"listening on"'))[1];
    await agent.waitFor(/(?<!dis)connected to \S+ as agent/, '"connected to"');

    const body = {
      model: 'bench', temperature: 0, max_tokens: o.tokens,
      messages: [{ role: 'user', content: 'Write a very long essay about rivers.' }],
    };
    const auth = { Authorization: `Bearer ${token}` };
    log('warm-up (loads the model on the agent)');
    await stream(agentUrl, body);
    await stream(hubUrl, body, auth);

    const direct = [];
    const routed = [];
    for (let i = 0; i < o.requests; i++) {
      // Alternate which path goes first, so drift in the machine's load touches both alike.
      const pair = [() => stream(agentUrl, body).then((x) => direct.push(x)),
                    () => stream(hubUrl, body, auth).then((x) => routed.push(x))];
      if (i % 2) pair.reverse();
      for (const f of pair) await f();
    }
    const same = direct.every((d, i) => d.text === routed[i].text && d.tokens === routed[i].tokens);
    const d = summary(direct);
    const h = summary(routed);
    const result = {
      benchmark: 'hub_routing',
      date: new Date().toISOString(),
      machine: { cpu: hw.cpu_model ?? os.cpus()[0]?.model ?? null, cpus: os.cpus().length,
                 load_average: os.loadavg().map(r3) },
      model: { file: path.basename(model), synthetic_random_weights: !o.model },
      settings: { requests_per_path: o.requests, max_tokens: o.tokens, temperature: 0,
                  threads: o.threads || 'default', sequential: true },
      same_text_both_paths: same,
      direct: d,
      hub: h,
      added: {
        ttft_ms_median: r3(h.ttft_ms.median - d.ttft_ms.median),
        ttft_ms_p90: r3(h.ttft_ms.p90 - d.ttft_ms.p90),
        total_ms_median: r3(h.total_ms.median - d.total_ms.median),
        tail_ms_median: r3(h.tail_ms.median - d.tail_ms.median),
        ttft_ratio_median: r3(h.ttft_ms.median / d.ttft_ms.median),
        decode_tokens_per_s_ratio_median: r3(h.decode_tokens_per_s.median / d.decode_tokens_per_s.median),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`hub_routing: ${e.stack || e.message}\n`);
  process.exit(1);
});
