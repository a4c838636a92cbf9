// Base against tuned: the held-out figures the evaluation gate judged by, and the answers of
// both, side by side, to the user's own held-out questions.
import { get } from '../lib/api';
import { count, fixed } from '../lib/format';
import { ErrorNote, useLoad } from '../lib/ui';
import type { Comparison as Answer, EvalSample, Evaluation, Job } from './types';

// The question asked (the conversation's last user message), and how many turns came before it.
function Question({ prompt }: { prompt: EvalSample['prompt'] }) {
  if (typeof prompt === 'string') return <>{prompt}</>;
  const asked = [...prompt].reverse().find((m) => m.role === 'user');
  const earlier = prompt.filter((m) => m.role !== 'system').length - 1;
  return <>{asked?.content ?? '–'}{earlier > 0 && <span class="muted"> (after {earlier} earlier messages)</span>}</>;
}

function Verdict({ e }: { e: Evaluation }) {
  if (e.better === undefined) return null;
  return e.better
    ? <p class="good" data-testid="verdict">Better than what was served when it was evaluated.</p>
    : <p class="warn" data-testid="verdict">Not better than what was served{e.why ? `: ${e.why}` : ''}.</p>;
}

function Figures({ e }: { e: Evaluation }) {
  if (e.metric === 'remote_validation_loss') {
    return (
      <dl class="figures">
        <div><dt>First validation loss</dt><dd>{fixed(e.first_validation_loss, 4)}</dd></div>
        <div><dt>Final validation loss</dt><dd>{fixed(e.final_validation_loss, 4)}</dd></div>
      </dl>
    );
  }
  const servedIsVersion = e.compared_with && e.compared_with.version > 0;
  return (
    <table class="figures-table" aria-label="Held-out figures">
      <thead><tr><th></th><th>Loss</th><th>Perplexity</th></tr></thead>
      <tbody>
        <tr><th scope="row">Base</th><td>{fixed(e.base?.loss, 4)}</td><td>{fixed(e.base?.perplexity, 2)}</td></tr>
        {servedIsVersion && e.served && (
          <tr><th scope="row">Served (version {e.served.version})</th><td>{fixed(e.served.loss, 4)}</td><td>{fixed(e.served.perplexity, 2)}</td></tr>
        )}
        <tr><th scope="row">Tuned</th><td data-testid="tuned-loss">{fixed(e.tuned?.loss, 4)}</td><td>{fixed(e.tuned?.perplexity, 2)}</td></tr>
      </tbody>
    </table>
  );
}

export function Comparison({ job }: { job: Job }) {
  // Only a job with an evaluation has anything to compare (the API answers 404 otherwise).
  const evaluated = job.eval && (job.eval.better !== undefined || job.eval.tuned !== undefined);
  const answer = useLoad<Answer | null>(
    () => (evaluated ? get<Answer>(`/api/personal-models/${job.personal_model_id}/compare?job_id=${job.id}`) : Promise.resolve(null)),
    [job.id, evaluated]);
  if (!evaluated) return <p class="muted">This job has no evaluation to compare.</p>;
  if (answer.error) return <ErrorNote error={answer.error} retry={answer.reload} />;
  const e = answer.data?.eval;
  if (!e) return <p class="muted">Loading the comparison…</p>;
  return (
    <div class="comparison" data-testid="comparison">
      <h3>Base against tuned</h3>
      <p class="hint">Measured on {count(e.examples)} of your conversations held out from training, on this machine.</p>
      <Figures e={e} />
      <Verdict e={e} />
      {e.samples && e.samples.length > 0 && (
        <table class="samples" aria-label="Answers side by side">
          <thead><tr><th>Your question</th><th>Wanted</th><th>Base answers</th><th>Tuned answers</th></tr></thead>
          <tbody>
            {e.samples.map((s) => (
              <tr><td><Question prompt={s.prompt} /></td><td>{s.expected}</td><td>{s.base}</td><td data-testid="tuned-answer">{s.tuned}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
