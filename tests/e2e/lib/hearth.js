// Running the real `hearth` binary from the end-to-end tests: the CLI (synth, pull, user, token)
// and `hearth serve` as a child process with its own HEARTH_HOME in a temporary folder.
//
// The binary comes from HEARTH_BIN (scripts/e2e.sh sets it, as ctest does for the C++ tests);
// without it, the release build's binary is used.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');

export function hearthBin() {
  const bin = process.env.HEARTH_BIN || path.join(repoRoot, 'build/release/src/cli/hearth');
  if (!existsSync(bin)) {
    throw new Error(`hearth binary not found at ${bin}; build it (make) or set HEARTH_BIN`);
  }
  return bin;
}

// The environment for a child: HEARTH_HOME set, and no HEARTH_* settings leaking in from the
// caller's shell (they would change what is tested), except the ones given.
export function childEnv(home, extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('HEARTH_') || k === 'HEARTH_KERNELS') env[k] = v;
  }
  env.HEARTH_HOME = home;
  env.HEARTH_LOG = env.HEARTH_LOG || 'warn';
  return { ...env, ...extra };
}

export async function makeTempDir(prefix = 'hearth-e2e-') {
  return mkdtemp(path.join(tmpdir(), prefix));
}

// Runs `hearth ARGS...` to completion; resolves to { stdout, stderr }, rejects with both in the
// message when the exit status is not 0.
export function runHearth(args, { home, env = {}, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(hearthBin(), args, { env: childEnv(home ?? tmpdir(), env), timeout: timeoutMs,
                                   maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`hearth ${args.join(' ')} failed (${error.code ?? error.signal}):\n` +
                           `${stdout}\n${stderr}`));
        } else {
          resolve({ stdout, stderr });
        }
      });
  });
}

// Tiny random-weight chat model (`hearth synth --shape tiny`: llama, 2 layers, n_embd 256,
// 1000-token SentencePiece-style vocabulary, no chat template so the server uses ChatML).
// Decodes thousands of tokens per second on one core.
export const TINY = { shape: 'tiny', embeddingLength: 256, vocab: 1000, contextLength: 4096 };

export async function synthTiny(dir, { seed = 1, name = 'tiny.gguf' } = {}) {
  const file = path.join(dir, name);
  await runHearth(['synth', '--shape', TINY.shape, '--type', 'F16', '--seed', String(seed),
                   '-o', file, '--force'], { home: dir });
  return file;
}

// Installs a local GGUF file into `home` as NAME (the CLI's pull imports local files).
export async function installModel(home, file, name) {
  return runHearth(['pull', file, '--name', name], { home });
}

// A running `hearth serve`. Use startServer().
export class HearthServer {
  constructor(child, home, ownsHome) {
    this.child = child;
    this.home = home;
    this.ownsHome = ownsHome;
    this.output = '';
    this.url = null;
    this.exited = null;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { this.output += d; });
    child.stderr.on('data', (d) => { this.output += d; });
    this.exitPromise = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve(this.exited);
      });
    });
  }

  // Waits for "listening on http://HOST:PORT" and remembers the URL.
  async waitListening(timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = /listening on (https?:\/\/\S+)/.exec(this.output);
      if (m) {
        this.url = m[1];
        return this.url;
      }
      if (this.exited) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const why = this.exited ? `exited (${JSON.stringify(this.exited)}) before listening`
                            : `did not report "listening on" within ${timeoutMs} ms`;
    throw new Error(`hearth serve ${why}; its output:\n${this.output}`);
  }

  // SIGTERM, then SIGKILL after `graceMs`; removes the home folder when startServer made it.
  async stop(graceMs = 5000) {
    if (!this.exited) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => { if (!this.exited) this.child.kill('SIGKILL'); }, graceMs);
      await this.exitPromise;
      clearTimeout(timer);
    }
    live.delete(this);
    if (this.ownsHome) await rm(this.home, { recursive: true, force: true });
    return this.exited;
  }
}

const live = new Set();
process.on('exit', () => {
  for (const s of live) if (!s.exited) s.child.kill('SIGKILL');
});

// Starts `hearth serve --host 127.0.0.1:0` (the kernel picks a free port; the server prints the
// one it bound) with HEARTH_HOME = `home` (a new temporary folder when not given) and waits
// until it listens.
export async function startServer({ home, env = {}, args = [], timeoutMs = 30_000 } = {}) {
  const ownsHome = !home;
  home = home ?? await makeTempDir('hearth-e2e-home-');
  // Tests pull models through the API from loopback file servers, which a server refuses
  // unless HEARTH_ALLOW_PRIVATE_URLS=1 (a test may pass its own value in `env`).
  const child = spawn(hearthBin(), ['serve', '--host', '127.0.0.1:0', ...args], {
    env: childEnv(home, { HEARTH_ALLOW_PRIVATE_URLS: '1', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = new HearthServer(child, home, ownsHome);
  live.add(server);
  try {
    await server.waitListening(timeoutMs);
  } catch (e) {
    await server.stop(1000);
    throw e;
  }
  return server;
}

// A server with the tiny model installed as `tiny` (the usual fixture of a test file).
// Returns { server, url, home, dir, modelFile, stop }.
export async function startServerWithTiny({ env = {}, args = [] } = {}) {
  const dir = await makeTempDir('hearth-e2e-');
  const home = path.join(dir, 'home');
  const modelFile = await synthTiny(dir);
  await installModel(home, modelFile, 'tiny');
  const server = await startServer({ home, env, args });
  return {
    server, url: server.url, home, dir, modelFile,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// `hearth token create --user USER` in `home`; resolves to the token it printed
// (hearth_ + 43 base64url characters).
export async function createToken(home, user) {
  const { stdout } = await runHearth(['token', 'create', '--user', user], { home });
  const m = /\bhearth_[A-Za-z0-9_-]{43}\b/.exec(stdout);
  if (!m) throw new Error(`no token in: ${stdout}`);
  return m[0];
}

// Adds USER to `home` and makes a token for them (the server then requires tokens).
export async function addUserWithToken(home, user) {
  await runHearth(['user', 'add', user], { home });
  return createToken(home, user);
}
