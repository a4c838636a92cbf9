// Desktops: the caller's machines connected with `hearth agent`, with live figures read every
// few seconds, and where each model runs. With none connected, how to connect one.
import { get } from '../lib/api';
import type { Me } from '../lib/shell';
import { ErrorNote, useLoad } from '../lib/ui';
import { AgentCard } from './desktop_card';
import type { Agent, PlacedModel } from './desktop_types';
import { ModelPlaces } from './model_places';

// Agents report every 5 s; reading a little more often shows each report soon after it lands.
const POLL_MS = 3000;

interface Desktops { agents: Agent[]; models: PlacedModel[] }

const loadDesktops = async (): Promise<Desktops> => {
  const [a, m] = await Promise.all([
    get<{ agents: Agent[] }>('/api/desktop/agents'),
    get<{ models: PlacedModel[] }>('/api/desktop/models'),
  ]);
  return { agents: a.agents, models: m.models };
};

function HowToConnect({ me }: { me: Me }) {
  const origin = window.location.origin;
  return (
    <div class="panel connect-help" data-testid="no-agents">
      <p>No desktop is connected. On the computer whose models you want to use here, with hearth
        installed, run:</p>
      <pre><code>hearth agent --hub {origin}{me.auth_required ? ' --token <token>' : ''}</code></pre>
      {me.auth_required
        ? <p class="small muted">The token is one of yours: make it on the machine that runs this server with{' '}
            <code>hearth token create</code>. It is needed once: the desktop then gets its own key, which
            Revoke takes back without touching your tokens.</p>
        : <p class="small muted">This server asks for no token, so none is needed. Add <code>--name</code> to
            choose how the desktop is called here.</p>}
    </div>
  );
}

export function DesktopsSection({ me }: { me: Me }) {
  const state = useLoad(loadDesktops, [], POLL_MS);
  const agents = state.data?.agents ?? [];
  return (
    <section aria-labelledby="desktops-title" class="desktops">
      <h2 id="desktops-title">Desktops</h2>
      <p class="hint">Your own computers connected with <code>hearth agent</code>. A chat with a model that one
        of them has runs on that computer (first choice by default; this server otherwise): the
        messages go there through this server and the answer comes back the same way.</p>
      {state.error !== null && <ErrorNote error={state.error} retry={state.reload} />}
      {!state.data && state.error === null && <p class="muted">Looking for your desktops…</p>}
      {state.data && (agents.length
        ? <ul class="agents">{agents.map((a) => <AgentCard key={a.id} agent={a} onChanged={state.reload} />)}</ul>
        : <HowToConnect me={me} />)}
      {state.data && <ModelPlaces models={state.data.models} />}
    </section>
  );
}
