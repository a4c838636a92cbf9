// The shapes of /api/desktop/agents and /api/desktop/models (docs/desktop-protocol.md, "The
// hub's HTTP side"). Figures an agent could not measure are null.
import type { Machine } from './types';

export interface GpuLoad {
  name: string;
  utilization: number | null;  // percent
  vram_used: number | null;    // bytes
  vram_total: number | null;
}

// The agent's last heartbeat.
export interface Telemetry {
  cpu_percent: number | null;
  memory_used: number | null;
  memory_total: number | null;
  gpus: GpuLoad[];
  loaded_models: string[];
  queue: number | null;
  active: number | null;
  tokens_per_second: number | null;
}

export interface AgentModel {
  name: string;
  digest: string;
  size: number;
  family: string;
}

export interface Agent {
  id: string;
  name: string;
  status: 'connected' | 'disconnected' | string;
  version: string;
  connected_at: string | number | null;
  last_seen: string | number | null;
  hardware: Partial<Machine> | null;  // `hearth hw --json` of that machine, as it said in hello
  telemetry: Telemetry | null;         // null while not connected
  models: AgentModel[];
  in_flight: number;
  served?: number;
}

// One place a model can run: this server, a desktop agent, or a remote engine.
export interface PlacedModel {
  name: string;
  where: 'hub' | 'desktop' | 'remote' | string;
  agent?: { id: string; name: string } | null;
  remote?: string | null;
  size?: number | null;
  family?: string | null;
}

export function placeOf(m: PlacedModel): string {
  if (m.where === 'hub') return 'this server';
  if (m.where === 'desktop') return `desktop '${m.agent?.name ?? '?'}'`;
  if (m.where === 'remote') return `remote '${m.remote ?? '?'}'`;
  return m.where;
}
