// One job, live: its loss curve growing from the events stream (or from the job read every few
// seconds when the stream is not available), step / total, tokens per second,
// the expected end, its latest events and a cancel button; once it has ended, its evaluation
// against the base and the deploy button.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, get } from '../lib/api';
import { count, duration, fixed, when } from '../lib/format';
import { ConfirmButton, ErrorNote, ProgressBar } from '../lib/ui';
import { LossChart } from './chart';
import { Comparison } from './compare';
import { Deploy } from './deploy';
import { POLL_SECONDS, useJobFollow, type JobEvent } from './follow';
import { active, shortName, type CurvePoint, type Job } from './types';

function mergeCurve(into: Map<number, CurvePoint>, points: CurvePoint[] | undefined) {
  for (const p of points ?? []) if (typeof p.step === 'number' && typeof p.loss === 'number') into.set(p.step, { ...into.get(p.step), ...p });
}

function StatusBadge({ job }: { job: Job }) {
  const tone = job.status === 'completed' ? 'good' : job.status === 'failed' ? 'bad' : job.status === 'cancelled' ? 'muted' : 'warn';
  return <span class={`badge ${tone}`} data-testid="job-status">{job.cancel_requested && active(job) ? 'cancelling' : job.status}</span>;
}

export function LiveJob({ initial, onChanged }: { initial: Job; onChanged: () => void }) {
  const [job, setJob] = useState<Job>(initial);
  const [curve, setCurve] = useState<CurvePoint[]>(initial.metrics?.loss_curve ?? []);
  const [log, setLog] = useState<JobEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  const points = useRef(new Map<number, CurvePoint>());
  const refetch = useRef<ReturnType<typeof setTimeout> | null>(null);

  const absorb = (j: Job) => {
    setJob(j);
    mergeCurve(points.current, j.metrics?.loss_curve);
    setCurve([...points.current.values()]);
  };
  const reread = () => {
    get<Job>(`/api/training/jobs/${initial.id}`).then(absorb).catch(setError);
  };
  useEffect(() => {
    points.current = new Map();
    setLog([]);
    absorb(initial);
    reread();
    return () => { if (refetch.current) clearTimeout(refetch.current); };
  }, [initial.id]);

  // Each step event adds its point at once; the job itself is re-read (at most once a second)
  // for the figures the events do not carry.
  const follow = useJobFollow(initial.id, active(initial), {
    event: (e) => {
      setLog((l) => [...l.slice(-7), e]);
      const d = e.data;
      if (typeof d?.step === 'number' && typeof d?.loss === 'number') {
        mergeCurve(points.current, [d as unknown as CurvePoint]);
        setCurve([...points.current.values()]);
      }
      if (!refetch.current) refetch.current = setTimeout(() => { refetch.current = null; reread(); }, 1000);
    },
    job: absorb,
    end: () => { reread(); onChanged(); },
  });

  const cancel = () => {
    api<Job>('POST', `/api/training/jobs/${job.id}/cancel`).then(absorb).catch(setError);
  };
  const m = job.metrics ?? {};
  const sorted = useMemo(() => [...curve].sort((a, b) => a.step - b.step), [curve]);
  const remote = job.trainer === 'openai';
  return (
    <section class="panel live-job" aria-labelledby="job-title" data-testid="live-job" data-job-id={job.id}>
      <h2 id="job-title">Job #{job.id}: {shortName(job.model)} <StatusBadge job={job} /></h2>
      <p class="hint">
        {remote
          ? `Trained by your remote trainer${job.eval?.remote?.base_url ? ` at ${job.eval.remote.base_url}` : ''}: the examples were sent there.`
          : 'Trained on this machine: the examples never left it.'}{' '}
        {count(job.training_examples)} examples · started {when(job.started_at ?? job.created_at)}
        {job.completed_at && <> · ended {when(job.completed_at)}</>}
      </p>
      <ProgressBar value={job.progress ?? 0} max={100} label={`Job ${job.id} progress`} />
      <dl class="figures">
        <div><dt>Step</dt><dd data-testid="job-step">{count(m.step)} / {count(m.total_steps)}</dd></div>
        <div><dt>Loss</dt><dd>{fixed(m.loss, 4)}</dd></div>
        <div><dt>Held-out loss</dt><dd>{fixed(m.eval_loss, 4)}</dd></div>
        <div><dt>Tokens/s</dt><dd data-testid="job-speed">{fixed(m.tokens_per_second, 0)}</dd></div>
        <div><dt>{active(job) ? 'Expected end' : 'Took'}</dt>
          <dd>{active(job) ? when(job.estimated_completion) : duration(m.elapsed_s)}</dd></div>
      </dl>
      <LossChart points={sorted} totalSteps={m.total_steps} />
      {active(job) && !job.cancel_requested && (
        <ConfirmButton onConfirm={cancel} question="Cancel this job? Its progress is lost.">Cancel job</ConfirmButton>
      )}
      {job.error && <ErrorNote error={`The job failed: ${job.error}`} />}
      {error !== null && <ErrorNote error={error} retry={reread} />}
      {follow.error !== null && <ErrorNote error={follow.error} />}
      {follow.polling && active(job) && (
        <p class="hint" data-testid="following-by-polling">
          Live updates are not available right now: this job is read again every {POLL_SECONDS} seconds.
        </p>
      )}
      {log.length > 0 && (
        <ol class="events" aria-label="Latest events" aria-live="polite">
          {log.map((e) => <li class={e.level === 'warn' || e.level === 'error' ? 'warn' : ''}>{e.message}</li>)}
        </ol>
      )}
      {job.status === 'completed' && (
        <>
          <Comparison job={job} />
          <Deploy job={job} onDeployed={() => { reread(); onChanged(); }} />
        </>
      )}
    </section>
  );
}
