// Feedback on one kept answer: thumbs, a 1–5 rating and a corrected answer. This is what
// training learns from, so the current state is always shown. The server replaces the whole
// feedback on each call, so every change sends the other fields as they are.
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api';
import { ErrorNote } from '../lib/ui';
import type { Feedback, Thumbs } from './types';

const EMPTY: Feedback = { thumbs: null, rating: null, reason: '', comment: '', corrected_answer: null };

function payload(f: Feedback): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (f.thumbs) body.thumbs = f.thumbs;
  if (f.rating) body.rating = f.rating;
  if (f.corrected_answer) body.corrected_answer = f.corrected_answer;
  if (f.reason) body.reason = f.reason;
  if (f.comment) body.comment = f.comment;
  return body;
}

function summary(f: Feedback): string {
  const parts: string[] = [];
  if (f.thumbs) parts.push(f.thumbs === 'up' ? 'good answer' : 'bad answer');
  if (f.rating) parts.push(`rated ${f.rating}/5`);
  if (f.corrected_answer) parts.push('corrected');
  return parts.length ? `Your feedback: ${parts.join(' · ')}` : 'No feedback yet';
}

export function FeedbackControls({ conversationId, messageId, answer, feedback, onSaved }: {
  conversationId: number; messageId: number; answer: string; feedback: Feedback | null;
  onSaved: (f: Feedback) => void;
}) {
  const current = feedback ?? EMPTY;
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [correcting, setCorrecting] = useState<string | null>(null);
  // The keyboard focus follows the correction form: into it when it opens, back to the button
  // that opened it on Cancel.
  const opener = useRef<HTMLButtonElement>(null);
  const field = useRef<HTMLTextAreaElement>(null);
  const focusBack = useRef(false);
  const open = correcting !== null;
  // Before the browser handles another key: a key pressed as the form closes must not land
  // on the page body (where Escape stops an answer).
  useLayoutEffect(() => {
    if (open) field.current?.focus();
    else if (focusBack.current) opener.current?.focus();
    focusBack.current = false;
  }, [open]);
  const cancel = () => { focusBack.current = true; setCorrecting(null); };

  async function save(next: Feedback) {
    // The server refuses feedback with none of thumbs, rating or correction: taking the last
    // one back is not possible, so that click changes nothing.
    if (!next.thumbs && !next.rating && !next.corrected_answer) return;
    setBusy(true);
    setError(null);
    try {
      const stored = await api<Feedback>('POST',
        `/api/conversations/${conversationId}/messages/${messageId}/feedback`, payload(next));
      onSaved({ ...EMPTY, ...stored });
      setCorrecting(null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const thumb = (t: Thumbs) => save({ ...current, thumbs: current.thumbs === t ? null : t });
  return (
    <div class="feedback" role="group" aria-label="Feedback on this answer">
      <div class="feedback-row">
        <button type="button" class="icon" aria-label="Good answer" title="Good answer" aria-pressed={current.thumbs === 'up'}
                disabled={busy} onClick={() => thumb('up')}>▲</button>
        <button type="button" class="icon" aria-label="Bad answer" title="Bad answer" aria-pressed={current.thumbs === 'down'}
                disabled={busy} onClick={() => thumb('down')}>▼</button>
        <span class="rating" role="group" aria-label="Rating">
          {[1, 2, 3, 4, 5].map((n) => (
            <button type="button" class="star" aria-label={`Rate ${n} of 5`} title={`${n} of 5`}
                    aria-pressed={current.rating !== null && n <= current.rating} disabled={busy}
                    onClick={() => save({ ...current, rating: current.rating === n ? null : n })}>★</button>
          ))}
        </span>
        <button type="button" class="link" disabled={busy} ref={opener} aria-expanded={open}
                onClick={() => setCorrecting(correcting === null ? current.corrected_answer ?? answer : null)}>
          {current.corrected_answer ? 'Edit your correction' : 'Correct this answer'}
        </button>
        <span class="feedback-state" data-testid="feedback-state">{summary(current)}</span>
      </div>
      {correcting !== null && (
        <form class="correction" onSubmit={(e) => {
          e.preventDefault();
          if (correcting.trim()) void save({ ...current, corrected_answer: correcting });
        }}>
          <label for={`correction-${messageId}`}>The answer you wanted</label>
          <textarea id={`correction-${messageId}`} rows={5} value={correcting} ref={field}
                    onInput={(e) => setCorrecting(e.currentTarget.value)}
                    onKeyDown={(e) => { if (e.key === 'Escape') cancel(); }} />
          <p class="hint">When you train on your conversations, this text is the answer the model
            learns from instead of the one above. It stays on this machine.</p>
          <span class="actions">
            <button type="submit" class="primary" disabled={busy || !correcting.trim()}>Save correction</button>
            <button type="button" onClick={cancel}>Cancel</button>
          </span>
        </form>
      )}
      {error !== null && <ErrorNote error={error} />}
    </div>
  );
}
