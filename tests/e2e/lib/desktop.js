// The desktop connector end to end: `hearth serve` as the hub and `hearth agent` processes, each
// agent with its own HEARTH_HOME holding the tiny model under a name the hub does not have
// (docs/desktop-protocol.md).
//
//   startAgent({ hub, token, home, name, serve, args, env })  -> HearthAgent
//   startDesktopFixture({ agents, hubArgs, agentEnv })       -> a hub with users ada and bob
//   hubApi(url, path, { token, method, body, ca })            -> { status, text, json }
//   openUpgrade(url, headers, { ca })                         -> the status of a /ws/desktop upgrade
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { hearthBin, childEnv, makeTempDir, synthTiny, installModel, addUserWithToken,
         startServer } from './hearth.js';

export const MODEL = 'desk-tiny';
// Names the hub may use for the agent's model: as installed, or with the default tag.
export const isModel = (name) => name === MODEL || name === `${MODEL}:latest`;

const live = new Set();
process.on('exit', () => {
  for (const a of live) if (!a.exited) a.child.kill('SIGKILL');
});

// A running `hearth agent`. Its output accumulates in `output`; each "connected to" line is one
// WebSocket that came up.
export class HearthAgent {
  constructor(child, home) {
    this.child = child;
    this.home = home;
    this.output = '';
    this.exited = null;
    this.url = null;  // the local API with --serve
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { this.output += d; });
    child.stderr.on('data', (d) => { this.output += d; });
    // 'close' (not 'exit'): the process ended and its output has been read to the end, so a
    // last line printed before exiting is in `output` when `exited` is set.
    this.exitPromise = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.exited = { code, signal };
        live.delete(this);
        resolve(this.exited);
      });
    });
  }

  // Every "connected to <hub> as agent '<name>' (agt_…)" so far, in order.
  connections() {
    const out = [];
    const re = /connected to (\S+) as agent '([^']*)' \((agt_[A-Za-z0-9_-]+)\)/g;
    for (const m of this.output.matchAll(re)) {
      // "disconnected from" also holds "connected"; only lines that start the phrase count.
      const before = this.output.slice(Math.max(0, m.index - 3), m.index);
      if (before.endsWith('dis')) continue;
      out.push({ hub: m[1], name: m[2], id: m[3] });
    }
    return out;
  }

  // Waits until the output matches `re` from character `from` on; resolves to the match.
  async waitOutput(re, { from = 0, timeoutMs = 30_000, what = String(re) } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.output.slice(from));
      if (m) return m;
      if (this.exited || Date.now() >= deadline) {
        const why = this.exited ? `exited (${JSON.stringify(this.exited)})` : `waited ${timeoutMs} ms`;
        throw new Error(`hearth agent: no ${what}; ${why}; its output:\n${this.output}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  // Waits until `count` connections came up (the first by default) and resolves to that one
  // ({ hub, name, id }); a reconnection is count = connections().length + 1.
  async waitConnected({ count = 1, timeoutMs = 30_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = this.connections();
      if (c.length >= count) return c[count - 1];
      if (this.exited || Date.now() >= deadline) {
        const why = this.exited ? `exited (${JSON.stringify(this.exited)})` : `waited ${timeoutMs} ms`;
        throw new Error(`hearth agent: connection ${count} did not come up; ${why}; its output:\n` +
                        this.output);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  // With --serve: waits for "listening on http://…" and remembers the local API's URL.
  async waitListening(timeoutMs = 30_000) {
    const m = await this.waitOutput(/listening on (https?:\/\/\S+)/, { timeoutMs, what: '"listening on"' });
    this.url = m[1];
    return this.url;
  }

  kill(signal = 'SIGKILL') {
    if (!this.exited) this.child.kill(signal);
    return this.exitPromise;
  }

  // SIGTERM (what the agent promises to stop on), SIGKILL after `graceMs`.
  async stop(graceMs = 5000) {
    if (!this.exited) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!this.exited) this.child.kill('SIGKILL'); }, graceMs);
      await this.exitPromise;
      clearTimeout(timer);
    }
    return this.exited;
  }
}

// Starts `hearth agent --hub HUB [--token T] [--name N] [--serve --host 127.0.0.1:0] ARGS...`
// with HEARTH_HOME = home. Resolves once the process runs (and, with `serve`, its local API
// listens); call waitConnected() for the hub connection.
export async function startAgent({ hub, token, home, name, serve = false, args = [], env = {},
                                   timeoutMs = 30_000 }) {
  const argv = ['agent', '--hub', hub];
  if (token) argv.push('--token', token);
  if (name) argv.push('--name', name);
  if (serve) argv.push('--serve', '--host', '127.0.0.1:0');
  argv.push(...args);
  const child = spawn(hearthBin(), argv, { env: childEnv(home, env), stdio: ['ignore', 'pipe', 'pipe'] });
  const agent = new HearthAgent(child, home);
  live.add(agent);
  if (serve) {
    try {
      await agent.waitListening(timeoutMs);
    } catch (e) {
      await agent.stop(1000);
      throw e;
    }
  }
  return agent;
}

// An HTTP(S) request to the hub with an optional Bearer token and JSON body; `ca` trusts a
// self-signed hub. Resolves to { status, headers, text, json }.
export function hubApi(base, route, { token, method = 'GET', body, ca, headers = {}, timeoutMs = 30_000 } = {}) {
  const url = new URL(route, base);
  const lib = url.protocol === 'https:' ? https : http;
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    h['Content-Type'] = 'application/json';
    h['Content-Length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method, headers: h, ca, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${route}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

// The caller's agents (GET /api/desktop/agents), asserting the answer's shape.
export async function listAgents(base, token, opts = {}) {
  const r = await hubApi(base, '/api/desktop/agents', { token, ...opts });
  if (r.status !== 200 || !Array.isArray(r.json?.agents)) {
    throw new Error(`GET /api/desktop/agents: ${r.status} ${r.text}`);
  }
  return r.json.agents;
}

// A WebSocket upgrade of /ws/desktop with the given headers; resolves to the HTTP status (101
// when the hub accepted; the socket is then closed at once) and the body of a refusal.
// The request of a /ws/desktop upgrade (not yet sent) with the given extra headers.
function upgradeRequest(base, headers, ca) {
  const url = new URL('/ws/desktop', base);
  const lib = url.protocol === 'https:' ? https : http;
  return lib.request(url, {
    ca,
    headers: {
      Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'), ...headers,
    },
  });
}

export function openUpgrade(base, headers, { ca } = {}) {
  return new Promise((resolve, reject) => {
    const req = upgradeRequest(base, headers, ca);
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode, text: '' });
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error('no answer to the upgrade in 15 s')));
    req.end();
  });
}

// A /ws/desktop connection speaking the protocol from the test (as an impostor or second copy
// of an agent): resolves after the 101 to { send(obj or text), next(timeoutMs), closed, end() }.
// next() resolves to the next text message parsed ({ type, … }) or to { close: code, reason }
// when the hub closes. Client frames are masked (RFC 6455); control frames other than close
// are skipped.
export function openAgentSocket(base, headers, { ca } = {}) {
  return new Promise((resolve, reject) => {
    const req = upgradeRequest(base, headers, ca);
    req.on('response', (res) => {
      res.resume();
      reject(new Error(`/ws/desktop answered ${res.statusCode} instead of 101`));
    });
    req.on('error', reject);
    req.on('upgrade', (res, socket, head) => {
      let buffer = head;
      const messages = [];
      const waiters = [];
      let closed = null;
      const deliver = (m) => {
        if (waiters.length) waiters.shift()(m);
        else messages.push(m);
      };
      const parse = () => {
        for (;;) {
          if (buffer.length < 2) return;
          const opcode = buffer[0] & 0x0f;
          let len = buffer[1] & 0x7f;
          let at = 2;
          if (len === 126) {
            if (buffer.length < 4) return;
            len = buffer.readUInt16BE(2);
            at = 4;
          } else if (len === 127) {
            if (buffer.length < 10) return;
            len = Number(buffer.readBigUInt64BE(2));
            at = 10;
          }
          if (buffer.length < at + len) return;
          const payload = buffer.subarray(at, at + len);
          buffer = buffer.subarray(at + len);
          if (opcode === 1) {
            deliver(JSON.parse(payload.toString('utf8')));
          } else if (opcode === 8) {
            closed = { close: payload.length >= 2 ? payload.readUInt16BE(0) : null,
                       reason: payload.subarray(2).toString('utf8') };
            deliver(closed);
          }
        }
      };
      socket.on('data', (d) => {
        buffer = Buffer.concat([buffer, d]);
        parse();
      });
      socket.on('close', () => {
        if (!closed) {
          closed = { close: null, reason: 'the connection closed' };
          deliver(closed);
        }
      });
      const frame = (opcode, data) => {
        const mask = randomBytes(4);
        const n = data.length;
        const head = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n])
          : n < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, n >> 8, n & 0xff])
            : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]),
                             (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
        const body = Buffer.from(data);
        for (let i = 0; i < n; i++) body[i] ^= mask[i % 4];
        socket.write(Buffer.concat([head, mask, body]));
      };
      parse();
      resolve({
        status: res.statusCode,
        send(obj) {
          frame(1, Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj), 'utf8'));
        },
        next(timeoutMs = 10_000) {
          if (messages.length) return Promise.resolve(messages.shift());
          if (closed) return Promise.resolve(closed);
          return new Promise((res2, rej2) => {
            const t = setTimeout(() => rej2(new Error(`no message from the hub in ${timeoutMs} ms`)), timeoutMs);
            waiters.push((m) => { clearTimeout(t); res2(m); });
          });
        },
        get closed() { return closed; },
        end() { socket.destroy(); },
      });
    });
    req.setTimeout(15_000, () => req.destroy(new Error('no answer to the upgrade in 15 s')));
    req.end();
  });
}

// The local API's /metrics (Prometheus text) as { name: value } for unlabelled samples.
export async function metrics(base) {
  const r = await hubApi(base, '/metrics');
  if (r.status !== 200) throw new Error(`GET /metrics: ${r.status} ${r.text}`);
  const out = {};
  for (const line of r.text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\s+(\S+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

// Polls `fn` until it returns a truthy value or `timeoutMs` passes; resolves to the last value.
export async function poll(fn, { timeoutMs = 10_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v || Date.now() >= deadline) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// A hub (`hearth serve`, users ada and bob, so tokens are required; no model of its own) and
// `agents` agent homes with the tiny model installed as desk-tiny (not started: the tests start
// and restart agents themselves). Returns { dir, hub, url, tokens: {ada, bob}, homes, modelFile,
// stop() } — stop() ends the hub and every agent started through fixture.agent().
export async function startDesktopFixture({ agents = 1, hubArgs = [], hubEnv = {} } = {}) {
  const dir = await makeTempDir('hearth-e2e-desktop-');
  const started = [];
  let hub;
  try {
    const modelFile = await synthTiny(dir);
    const hubHome = path.join(dir, 'hub');
    const tokens = {};
    for (const user of ['ada', 'bob']) tokens[user] = await addUserWithToken(hubHome, user);
    const homes = [];
    for (let i = 0; i < agents; i++) {
      const home = path.join(dir, `agent-${i + 1}`);
      await installModel(home, modelFile, MODEL);
      homes.push(home);
    }
    hub = await startServer({ home: hubHome, args: hubArgs, env: hubEnv });
    return {
      dir, hub, url: hub.url, tokens, homes, modelFile, hubHome,
      // startAgent with the hub's URL filled in; the agent is stopped by stop().
      async agent(opts) {
        const a = await startAgent({ hub: hub.url, ...opts });
        started.push(a);
        return a;
      },
      async stop() {
        await Promise.all(started.map((a) => a.stop(2000)));
        await hub.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await hub?.stop();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
