// Starting a job: the model, optional hyperparameters (empty fields are chosen by hearth), and
// the planner's estimate of memory and time, shown before anything starts.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from '../lib/api';
import { bytes, count, duration } from '../lib/format';
import { ErrorNote } from '../lib/ui';
import { shortName, type Hyperparameters, type Job, type ModelReadiness, type Plan, type RemoteTrainer } from './types';

// The form's fields as typed (text, so that "empty" means auto), and their limits
// (loop/hyperparameters.cpp).
interface Fields { n_epochs: string; learning_rate: string; rank: string; batch_size: string; max_steps: string }
const EMPTY: Fields = { n_epochs: '', learning_rate: '', rank: '', batch_size: '', max_steps: '' };
const LIMITS: Record<keyof Fields, { min: number; max: number; whole: boolean; label: string }> = {
  n_epochs: { min: 1, max: 50, whole: true, label: 'Epochs' },
  learning_rate: { min: 0, max: 1, whole: false, label: 'Learning rate' },
  rank: { min: 1, max: 256, whole: true, label: 'Adapter rank' },
  batch_size: { min: 1, max: 256, whole: true, label: 'Batch size' },
  max_steps: { min: 1, max: 1_000_000, whole: true, label: 'Stop after steps' },
};

// The hyperparameters to send, or the first field's problem.
function read(fields: Fields): { hyperparameters: Hyperparameters } | { problem: string } {
  const out: Record<string, number> = {};
  for (const key of Object.keys(LIMITS) as (keyof Fields)[]) {
    const text = fields[key].trim();
    if (!text) continue;
    const { min, max, whole, label } = LIMITS[key];
    const value = Number(text);
    if (!Number.isFinite(value) || (whole && !Number.isInteger(value)) || value < min || value > max || (!whole && value <= min)) {
      return { problem: `${label} must be ${whole ? 'a whole number' : 'a number'} ${whole ? `from ${min}` : `above ${min}`} to ${max}, or empty for auto` };
    }
    out[key] = value;
  }
  return { hyperparameters: out };
}

function PlanView({ plan }: { plan: Plan }) {
  const parts = Object.entries(plan.memory).filter(([k]) => k !== 'peak');
  const h = plan.hyperparameters;
  return (
    <div class={plan.fits ? 'plan' : 'plan does-not-fit'} data-testid="plan" role="status">
      <p>
        <strong>Needs about {bytes(plan.memory.peak)}</strong>
        {plan.available_memory !== null && <> of {bytes(plan.available_memory)} available</>}
        {', '}
        {plan.estimated_seconds !== null ? <>about <strong>{duration(plan.estimated_seconds)}</strong></> : 'time unknown'}
        {' '}{plan.fits ? <span class="badge good">fits</span> : <span class="badge bad">does not fit</span>}
      </p>
      <p class="hint">
        {count(plan.examples)} examples, {count(plan.tokens)} tokens, {plan.epochs} epoch{plan.epochs === 1 ? '' : 's'}
        {plan.steps !== undefined && <>: {count(plan.steps)} steps</>}
        {h && <> of {h.batch_size} examples, adapter rank {h.rank}, learning rate {h.learning_rate}</>}.
        {plan.basis && <> Time: {plan.basis}.</>}
      </p>
      {parts.length > 0 && (
        <details>
          <summary>Memory in detail</summary>
          <table class="memory" aria-label="Memory the training needs">
            <tbody>{parts.map(([k, v]) => <tr><th scope="row">{k}</th><td>{bytes(v)}</td></tr>)}</tbody>
          </table>
        </details>
      )}
    </div>
  );
}

function tooLittle(e: unknown): string | null {
  if (!(e instanceof ApiError) || e.status !== 400) return null;
  const body = e.body as { qualifying?: number; needed?: number } | undefined;
  if (typeof body?.qualifying !== 'number') return null;
  return `${e.message} (${count(body.qualifying)} of ${count(body.needed)} qualifying examples so far)`;
}

export function StartJob({ models, model, onModel, readiness, remote, busyJob, onStarted }: {
  models: string[];
  model: string;
  onModel: (name: string) => void;
  readiness: ModelReadiness | undefined;
  remote: RemoteTrainer | null;
  busyJob: Job | undefined;
  onStarted: (job: Job) => void;
}) {
  const [fields, setFields] = useState<Fields>(EMPTY);
  const [trainer, setTrainer] = useState<'local' | 'openai'>('local');
  const [plan, setPlan] = useState<Plan | null>(null);
  const [planError, setPlanError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<unknown>(null);
  const parsed = read(fields);
  const request = 'hyperparameters' in parsed ? JSON.stringify(parsed.hyperparameters) : null;
  const ready = readiness?.ready ?? false;

  // The estimate follows the form, a moment after the last keystroke. Only asked when the data
  // is there: without it the planner has nothing to plan.
  useEffect(() => {
    setPlan(null);
    setPlanError(null);
    if (!model || !ready || request === null || trainer !== 'local') return;
    const abort = new AbortController();
    const timer = setTimeout(() => {
      api<Plan>('POST', '/api/training/plan', { model, hyperparameters: JSON.parse(request) }, { signal: abort.signal })
        .then(setPlan)
        .catch((e) => { if ((e as Error).name !== 'AbortError') setPlanError(e); });
    }, 300);
    return () => { clearTimeout(timer); abort.abort(); };
  }, [model, ready, request, trainer]);

  const start = async () => {
    if (!('hyperparameters' in parsed)) return;
    setStarting(true);
    setStartError(null);
    try {
      const body: Record<string, unknown> = { model, hyperparameters: parsed.hyperparameters };
      if (trainer === 'openai') body.trainer = 'openai';
      onStarted(await api<Job>('POST', '/api/training/start-job', body));
    } catch (e) {
      setStartError(tooLittle(e) ?? e);
    } finally {
      setStarting(false);
    }
  };

  const field = (key: keyof Fields, hint: string) => (
    <div class="field">
      <label for={`hp-${key}`}>{LIMITS[key].label}</label>
      <input id={`hp-${key}`} inputMode={LIMITS[key].whole ? 'numeric' : 'decimal'} placeholder="auto" value={fields[key]} aria-describedby={`hp-${key}-hint`}
             onInput={(e) => setFields({ ...fields, [key]: e.currentTarget.value })} />
      <span id={`hp-${key}-hint`} class="hint">{hint}</span>
    </div>
  );

  return (
    <section class="panel" aria-labelledby="start-title">
      <h2 id="start-title">Train a model</h2>
      <div class="start-grid">
        <div class="field">
          <label for="train-model">Personal model</label>
          <select id="train-model" value={model} onChange={(e) => onModel(e.currentTarget.value)}>
            {models.map((m) => <option value={m}>{shortName(m)}</option>)}
          </select>
          <span class="hint">
            {readiness ? `${count(readiness.qualifying_examples)} of ${count(readiness.needed)} qualifying examples` : 'no conversations with it yet'}
          </span>
        </div>
        {field('n_epochs', '1–50; auto: from the data size')}
        {field('learning_rate', 'e.g. 0.0002; auto: 2e-4')}
        {field('rank', '1–256; auto: 16')}
      </div>
      <details class="more">
        <summary>More settings</summary>
        <div class="start-grid">
          {field('batch_size', '1–256; auto: what fits in memory')}
          {field('max_steps', 'stop early after this many steps')}
        </div>
      </details>
      {remote?.base_url && (
        <fieldset class="trainer">
          <legend>Where it trains</legend>
          <label><input type="radio" name="trainer" checked={trainer === 'local'} onChange={() => setTrainer('local')} /> On this machine</label>
          <label><input type="radio" name="trainer" checked={trainer === 'openai'} onChange={() => setTrainer('openai')} /> On your remote trainer, {remote.base_url}</label>
        </fieldset>
      )}
      <p class="hint" data-testid="where-training-runs">
        {trainer === 'openai' && remote?.base_url
          ? <>The training examples are <strong>sent to {remote.base_url}</strong> with your key, and trained there.</>
          : <>Training runs on <strong>this machine</strong>: your examples never leave it.</>}
        {' '}It learns from your opted-in conversations' answers scored above the threshold.
      </p>
      {'problem' in parsed && <ErrorNote error={parsed.problem} />}
      {trainer === 'local' && plan && <PlanView plan={plan} />}
      {trainer === 'local' && planError !== null && (
        <p class="warn">No estimate: {(tooLittle(planError) ?? (planError as Error).message)}</p>
      )}
      {!ready && model && <p class="muted">Training starts once {shortName(model)} has {count(readiness?.needed ?? 100)} qualifying examples.</p>}
      <div class="actions">
        <button type="button" class="primary" onClick={start}
                disabled={starting || !model || !ready || !('hyperparameters' in parsed) || busyJob !== undefined}>
          {starting ? 'Starting…' : 'Start training'}
        </button>
        {busyJob && <span class="muted">Job #{busyJob.id} of {shortName(busyJob.model)} is {busyJob.status}.</span>}
      </div>
      {startError !== null && <ErrorNote error={startError} />}
    </section>
  );
}
