// What web_desktops.test.js needs: a real `hearth agent` as a child process, with its own
// HEARTH_HOME, connected to a hub; resolved once it prints
//   connected to <hub> as agent '<name>' (agt_…)
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { hearthBin } from './hearth.js';

// The caller's environment without its HEARTH_* settings (they would change what is tested),
// with HEARTH_HOME set, as lib/hearth.js does for its children.
function agentEnv(home) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('HEARTH_') || k === 'HEARTH_KERNELS') env[k] = v;
  }
  return { ...env, HEARTH_HOME: home, HEARTH_LOG: process.env.HEARTH_LOG || 'warn' };
}

const live = new Set();
process.on('exit', () => { for (const child of live) child.kill('SIGKILL'); });

// Starts `hearth agent --hub HUB [--token T] --name NAME`; resolves to
// { id, name, output(), exited, stop() } once connected, rejects with its output otherwise.
// stop() also removes `home` when `removeHome` is set.
export async function startAgentProcess({ hub, home, name, token, timeoutMs = 30_000, removeHome = false }) {
  const args = ['agent', '--hub', hub, '--name', name];
  if (token) args.push('--token', token);
  const child = spawn(hearthBin(), args, { env: agentEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  let exited = null;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => { exited = { code, signal }; live.delete(child); resolve(exited); }));
  const agent = {
    name,
    output: () => output,
    get exited() { return exited; },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5000);
        await exit;
        clearTimeout(timer);
      }
      if (removeHome) await rm(home, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited) {
    // Not "disconnected from …": the phrase must start a word.
    const m = /(?<![A-Za-z])connected to \S+ as agent '([^']*)' \((agt_[A-Za-z0-9_-]+)\)/.exec(output);
    if (m) {
      agent.id = m[2];
      return agent;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  await agent.stop();
  throw new Error(`hearth agent ${exited ? `exited (${JSON.stringify(exited)})` : 'did not connect'}; its output:\n${output}`);
}
