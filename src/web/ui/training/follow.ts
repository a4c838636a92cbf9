// Following a queued or running job: its events stream while the server gives one, and the job
// itself read every 2 seconds when it does not (too many streams open, a stream that keeps
// failing), so the curve never stops growing while the badge says "running".
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, events, get, send } from '../lib/api';
import { active, type Job } from './types';

export interface JobEvent { id: number; level: string; message: string; data: Record<string, unknown>; created_at: string }

export interface FollowHandlers {
  event: (e: JobEvent) => void;  // one event from the stream
  job: (j: Job) => void;         // the job as read while polling
  end: () => void;               // the job has ended
}

export const POLL_SECONDS = 2;
// Connections in a row that failed or broke off before any event came: then the stream is given
// up for polling. One event arriving starts the count again.
const STREAM_TRIES = 3;

// A refusal that asking again will not change (the job is gone, the user signed out).
const final = (e: unknown) => e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429;

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

type StreamOutcome = 'ended' | 'poll' | 'stop';

// Reads the events stream, connecting again after the last event seen when it drops.
async function stream(jobId: number, signal: AbortSignal, on: { current: FollowHandlers },
                      fail: (e: unknown) => void): Promise<StreamOutcome> {
  let last = 0;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const response = await send('GET', `/api/training/jobs/${jobId}/events${last ? `?after=${last}` : ''}`,
                                  undefined, { signal });
      for await (const e of events(response)) {
        if (e.event === 'end') return 'ended';
        // The server could no longer read the job's events: connect again.
        if (e.event === 'error') break;
        if (e.event !== 'message') continue;
        const parsed = JSON.parse(e.data) as JobEvent;
        last = parsed.id;
        failures = 0;
        on.current.event(parsed);
      }
    } catch (e) {
      if (signal.aborted) return 'stop';
      // 503: the server has too many streams open and asks for polling instead.
      if (e instanceof ApiError && e.status === 503) return 'poll';
      if (final(e)) { fail(e); return 'stop'; }
    }
    if (++failures >= STREAM_TRIES) return 'poll';
    await pause(1000 * failures, signal);
  }
  return 'stop';
}

// Reads the job every POLL_SECONDS until it has ended.
async function poll(jobId: number, signal: AbortSignal, on: { current: FollowHandlers },
                    fail: (e: unknown) => void): Promise<void> {
  while (!signal.aborted) {
    try {
      const job = await get<Job>(`/api/training/jobs/${jobId}`, { signal });
      fail(null);
      on.current.job(job);
      if (!active(job)) { on.current.end(); return; }
    } catch (e) {
      if (signal.aborted) return;
      fail(e);
      if (final(e)) return;
    }
    await pause(POLL_SECONDS * 1000, signal);
  }
}

// Follows job `jobId` while `live`; `polling` says the stream was given up for reading the job.
export function useJobFollow(jobId: number, live: boolean, handlers: FollowHandlers) {
  const on = useRef(handlers);
  on.current = handlers;
  const [error, setError] = useState<unknown>(null);
  const [polling, setPolling] = useState(false);
  useEffect(() => {
    if (!live) return;
    const abort = new AbortController();
    const { signal } = abort;
    (async () => {
      const outcome = await stream(jobId, signal, on, setError);
      if (outcome === 'ended') on.current.end();
      if (outcome !== 'poll' || signal.aborted) return;
      setPolling(true);
      await poll(jobId, signal, on, setError);
      if (!signal.aborted) setPolling(false);
    })();
    return () => abort.abort();
  }, [jobId, live]);
  return { error, polling };
}
