// Deploying a completed job as the model's next version. The evaluation gate may refuse (the
// tuned model was not better on held-out data, or another version was deployed since): the page
// then says why, and offers to deploy anyway, since a rollback is one click.
import { useState } from 'preact/hooks';
import { ApiError, api } from '../lib/api';
import { ErrorNote } from '../lib/ui';
import { shortName, type Job } from './types';

export function Deploy({ job, onDeployed }: { job: Job; onDeployed: (version: number) => void }) {
  const [busy, setBusy] = useState(false);
  const [refused, setRefused] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [deployed, setDeployed] = useState<number | null>(job.deployed_version);

  const deploy = async (force: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const v = await api<{ version: number }>('POST', '/api/training/deploy', { job_id: job.id, force });
      setRefused(null);
      setDeployed(v.version);
      onDeployed(v.version);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && !force) setRefused(e.message);
      else setError(e);
    } finally {
      setBusy(false);
    }
  };

  if (deployed !== null) {
    return (
      <p class="deploy good" role="status" data-testid="deployed">
        Deployed as version {deployed} of {shortName(job.model)}. Which version chats use now, and the rollback, are under Versions below.
      </p>
    );
  }
  return (
    <div class="deploy">
      {!refused && (
        <button type="button" class="primary" disabled={busy} onClick={() => deploy(false)}>
          {busy ? 'Deploying…' : `Deploy to ${shortName(job.model)}`}
        </button>
      )}
      {refused && (
        <div class="refused" role="alert">
          <p class="warn">The evaluation gate refused: {refused}</p>
          <p class="hint">Deploying anyway serves the tuned model for {shortName(job.model)} now; the version before it stays,
            and "Roll back" returns to it.</p>
          <button type="button" class="danger" disabled={busy} onClick={() => deploy(true)}>Deploy anyway</button>{' '}
          <button type="button" onClick={() => setRefused(null)}>Keep what is served</button>
        </div>
      )}
      {error !== null && <ErrorNote error={error} />}
    </div>
  );
}
