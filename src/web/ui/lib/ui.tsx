// Small pieces every page uses: error notes, a progress bar, a confirm button, data loading.
import { type ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';

export function ErrorNote({ error, retry }: { error: unknown; retry?: () => void }) {
  const text = error instanceof Error ? error.message : String(error);
  return (
    <p class="error" role="alert">
      {text}
      {retry && <> <button type="button" class="link" onClick={retry}>Try again</button></>}
    </p>
  );
}

export function ProgressBar({ value, max, label }: { value: number; max: number; label: string }) {
  const fraction = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  return (
    <div class="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={max}
         aria-valuenow={Math.min(value, max)}>
      <div class="progress-fill" style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
    </div>
  );
}

// A button that asks again before doing something that cannot be undone.
export function ConfirmButton({ onConfirm, children, question, label }: {
  onConfirm: () => void; children: ComponentChildren; question: string; label?: string;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return <button type="button" class="danger" aria-label={label} onClick={() => setAsking(true)}>{children}</button>;
  }
  return (
    <span class="confirm" role="group" aria-label={question}>
      <span>{question}</span>
      <button type="button" class="danger" onClick={() => { setAsking(false); onConfirm(); }}>Yes</button>
      <button type="button" onClick={() => setAsking(false)}>No</button>
    </span>
  );
}

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

// Loads once, and again on reload() or when `keys` change; every `pollMs` when given.
export function useLoad<T>(load: () => Promise<T>, keys: unknown[] = [], pollMs?: number): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load()
      .then((d) => { if (live) { setData(d); setError(null); } })
      .catch((e) => { if (live) setError(e); })
      .finally(() => { if (live) setLoading(false); });
    return () => { live = false; };
  }, [tick, ...keys]);
  useEffect(() => {
    if (!pollMs) return;
    const timer = setInterval(reload, pollMs);
    return () => clearInterval(timer);
  }, [pollMs]);
  return { data, error, loading, reload };
}
