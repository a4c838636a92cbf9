// One connected (or once connected) desktop agent: its state, its machine, its last heartbeat's
// figures, its models and a way to revoke it.
import { useState } from 'preact/hooks';
import { api } from '../lib/api';
import { ago, bytes, count, fixed } from '../lib/format';
import { ConfirmButton, ErrorNote } from '../lib/ui';
import type { Agent, GpuLoad, Telemetry } from './desktop_types';

const percent = (n: number | null | undefined) => (n === null || n === undefined ? '–' : `${fixed(n, 0)} %`);

function usedOf(used: number | null | undefined, total: number | null | undefined): string {
  if (used === null || used === undefined) return total ? `? of ${bytes(total)}` : '–';
  return total ? `${bytes(used)} of ${bytes(total)}` : bytes(used);
}

function hardwareLine(agent: Agent): string {
  const hw = agent.hardware;
  if (!hw || (!hw.cpu_model && !hw.arch)) return 'hardware not reported';
  const cpu = hw.cpu_model || hw.arch || 'processor';
  const cores = hw.physical_cores ? ` · ${hw.physical_cores} cores (${hw.logical_cores ?? '?'} threads)` : '';
  const ram = hw.ram_total_bytes ? ` · ${bytes(hw.ram_total_bytes)} RAM` : '';
  const gpus = hw.gpus?.length
    ? hw.gpus.map((g) => `${g.name} (${bytes(g.vram_total_bytes)})`).join(', ')
    : 'no usable GPU';
  return `${cpu}${cores}${ram} · ${gpus}`;
}

function gpuText(g: GpuLoad): string {
  const parts = [];
  if (g.utilization !== null && g.utilization !== undefined) parts.push(`${fixed(g.utilization, 0)} % busy`);
  if (g.vram_used !== null && g.vram_used !== undefined) parts.push(`${usedOf(g.vram_used, g.vram_total)} VRAM`);
  return `${g.name}: ${parts.length ? parts.join(', ') : 'not measured'}`;
}

function Figures({ agent, t }: { agent: Agent; t: Telemetry }) {
  return (
    <dl class="figures" aria-label={`Load of ${agent.name}`}>
      <div><dt>CPU</dt><dd data-testid="agent-cpu">{percent(t.cpu_percent)}</dd></div>
      <div><dt>Memory</dt><dd data-testid="agent-memory">{usedOf(t.memory_used, t.memory_total)}</dd></div>
      {(t.gpus ?? []).map((g, i) => <div key={i}><dt>GPU {i}</dt><dd data-testid="agent-gpu">{gpuText(g)}</dd></div>)}
      <div><dt>Loaded</dt><dd data-testid="agent-loaded">{t.loaded_models?.length ? t.loaded_models.join(', ') : 'none'}</dd></div>
      <div><dt>Queue / running</dt><dd data-testid="agent-queue">{count(t.queue)} / {count(t.active)}</dd></div>
      <div><dt>Speed</dt>
        <dd data-testid="agent-speed">{t.tokens_per_second === null ? '–' : `${fixed(t.tokens_per_second, 1)} tokens/s`}</dd></div>
      <div><dt>Requests from here</dt><dd data-testid="agent-requests">{count(agent.in_flight)} now{agent.served !== undefined && <> · {count(agent.served)} served</>}</dd></div>
    </dl>
  );
}

export function AgentCard({ agent, onChanged }: { agent: Agent; onChanged: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const connected = agent.status === 'connected';
  const titleId = `agent-${agent.id}`;
  const revoke = () => {
    api('DELETE', `/api/desktop/agents/${encodeURIComponent(agent.id)}`)
      .then(() => { setError(null); onChanged(); }, setError);
  };
  return (
    <li class="agent panel" data-testid="agent" data-agent-id={agent.id} aria-labelledby={titleId}>
      <div class="model-head">
        <h3 id={titleId}>{agent.name}</h3>
        <span class={`status ${connected ? 'good' : 'muted'}`} data-testid="agent-status">
          <span class="dot" aria-hidden="true" />
          {connected ? 'connected' : `last seen ${ago(agent.last_seen)}`}
        </span>
        {agent.version && <span class="muted small">hearth {agent.version}</span>}
        <span class="spacer" />
        <ConfirmButton label={`Revoke ${agent.name}`}
                       question={`Revoke ${agent.name}? It is disconnected and must be registered again with a token.`}
                       onConfirm={revoke}>
          Revoke
        </ConfirmButton>
      </div>
      <p class="model-facts muted">
        <span data-testid="agent-hardware">{hardwareLine(agent)}</span>
        {connected && agent.connected_at && <span>connected {ago(agent.connected_at)}</span>}
      </p>
      {connected && agent.telemetry
        ? <Figures agent={agent} t={agent.telemetry} />
        : <p class="muted small">{connected ? 'Waiting for its first report…' : 'No live figures while it is away.'}</p>}
      <p class="small" data-testid="agent-models">
        <span class="muted">Models: </span>
        {agent.models?.length
          ? agent.models.map((m) => `${m.name} (${bytes(m.size)})`).join(', ')
          : 'none installed there'}
      </p>
      {error !== null && <ErrorNote error={error} />}
    </li>
  );
}
