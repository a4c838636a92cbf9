// Small pieces every page uses: error notes, a progress bar, a confirm button, data loading.
import { type ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

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

// A button that asks again before doing something that cannot be undone. The question takes
// the keyboard focus ("No" first, so Enter twice does not confirm by accident), and "No" gives
// it back to the button.
export function ConfirmButton({ onConfirm, children, question, label }: {
  onConfirm: () => void; children: ComponentChildren; question: string; label?: string;
}) {
  const [asking, setAsking] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const no = useRef<HTMLButtonElement>(null);
  const focusBack = useRef(false);
  useEffect(() => {
    if (asking) no.current?.focus();
    else if (focusBack.current) trigger.current?.focus();
    focusBack.current = false;
  }, [asking]);
  if (!asking) {
    return <button type="button" class="danger" aria-label={label} ref={trigger} onClick={() => setAsking(true)}>{children}</button>;
  }
  return (
    <span class="confirm" role="group" aria-label={question}>
      <span>{question}</span>
      <button type="button" class="danger" onClick={() => { setAsking(false); onConfirm(); }}>Yes</button>
      <button type="button" ref={no} onClick={() => { focusBack.current = true; setAsking(false); }}>No</button>
    </span>
  );
}

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

// Loads once, and again on reload() or when `keys` change. With `pollMs`, loads again that long
// after each answer (never two at once, so a slow server is never flooded), and not while the
// tab is hidden.
export function useLoad<T>(load: () => Promise<T>, keys: unknown[] = [], pollMs?: number): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const again = () => {
      if (document.hidden) timer = setTimeout(again, pollMs);
      else setTick((n) => n + 1);
    };
    setLoading(true);
    load()
      .then((d) => { if (live) { setData(d); setError(null); } })
      .catch((e) => { if (live) setError(e); })
      .finally(() => {
        if (!live) return;
        setLoading(false);
        if (pollMs) timer = setTimeout(again, pollMs);
      });
    return () => { live = false; clearTimeout(timer); };
  }, [tick, pollMs, ...keys]);
  return { data, error, loading, reload };
}
