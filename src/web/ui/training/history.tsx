// Every job of the user's, newest first; choosing one shows it above (curve, comparison, deploy).
import { count, fixed, when } from '../lib/format';
import { shortName, type Job } from './types';

function verdict(j: Job): string {
  if (j.eval?.better === true) return 'better';
  if (j.eval?.better === false) return 'not better';
  return '–';
}

export function JobHistory({ jobs, selected, onSelect }: { jobs: Job[]; selected: number | null; onSelect: (job: Job) => void }) {
  return (
    <section class="panel" aria-labelledby="history-title">
      <h2 id="history-title">Jobs</h2>
      {jobs.length === 0
        ? <p class="muted">No training jobs yet.</p>
        : (
          <table class="history" aria-label="Training jobs">
            <thead>
              <tr><th>Job</th><th>Model</th><th>Status</th><th>Started</th><th>Steps</th><th>Final loss</th>
                <th>Evaluation</th><th>Deployed</th><th></th></tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr data-testid={`job-${j.id}`} class={j.id === selected ? 'selected' : ''}>
                  <td>#{j.id}</td>
                  <td>{shortName(j.model)}{j.trainer === 'openai' && <span class="muted"> (remote)</span>}</td>
                  <td>{j.status}</td>
                  <td>{when(j.started_at ?? j.created_at)}</td>
                  <td>{count(j.metrics?.step)} / {count(j.metrics?.total_steps)}</td>
                  <td>{fixed(j.metrics?.loss, 4)}</td>
                  <td>{verdict(j)}</td>
                  <td>{j.deployed_version !== null ? `version ${j.deployed_version}` : '–'}</td>
                  <td>
                    <button type="button" class="link" aria-label={`Show job ${j.id}`} aria-pressed={j.id === selected}
                            onClick={() => onSelect(j)}>Show</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
    </section>
  );
}
