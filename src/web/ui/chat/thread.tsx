// The conversation on screen: questions as written, answers as Markdown (also while they
// stream), each kept answer with its feedback, the last one with "Regenerate", and every
// question with "Edit" (the conversation then goes on from the edited question, as a new branch
// that the server keeps beside the old one).
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { Markdown } from '../lib/markdown';
import { duration, fixed } from '../lib/format';
import { FeedbackControls } from './feedback';
import type { Feedback, ThreadMessage } from './types';

// Answers take from milliseconds to minutes: tenths of a second below a minute.
function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : duration(ms / 1000);
}

function Question({ message, busy, onEdit }: {
  message: ThreadMessage; busy: boolean; onEdit: (text: string) => void;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  // The keyboard focus follows the form: into it when it opens, back to "Edit" on Cancel.
  const editButton = useRef<HTMLButtonElement>(null);
  const field = useRef<HTMLTextAreaElement>(null);
  const focusBack = useRef(false);
  const editing = draft !== null;
  // Before the browser handles another key: a key pressed as the form closes must not land
  // on the page body (where Escape stops an answer).
  useLayoutEffect(() => {
    if (editing) field.current?.focus();
    else if (focusBack.current) editButton.current?.focus();
    focusBack.current = false;
  }, [editing]);
  const cancel = () => { focusBack.current = true; setDraft(null); };
  if (draft === null) {
    return (
      <article class="message user" aria-label="Your message">
        <div class="bubble">{message.content}</div>
        {!!message.earlier?.length && (
          <details class="earlier">
            <summary>You edited this message ({message.earlier.length} earlier version{message.earlier.length > 1 ? 's' : ''} kept)</summary>
            {message.earlier.map((m) => <div class="earlier-question">{m.content}</div>)}
          </details>
        )}
        <button type="button" class="link" disabled={busy} aria-label="Edit this message" ref={editButton}
                onClick={() => setDraft(message.content)}>Edit</button>
      </article>
    );
  }
  const id = `edit-${message.id ?? 'new'}`;
  return (
    <article class="message user editing" aria-label="Editing your message">
      <form onSubmit={(e) => {
        e.preventDefault();
        if (!draft.trim()) return;
        onEdit(draft);
        setDraft(null);
      }}>
        <label for={id}>Edited message</label>
        <textarea id={id} rows={3} value={draft} ref={field} onInput={(e) => setDraft(e.currentTarget.value)}
                  onKeyDown={(e) => { if (e.key === 'Escape') cancel(); }} />
        <p class="hint">Sending starts a new branch from here; the old one stays in the conversation.</p>
        <span class="actions">
          <button type="submit" class="primary" disabled={busy || !draft.trim()}>Save and send</button>
          <button type="button" onClick={cancel}>Cancel</button>
        </span>
      </form>
    </article>
  );
}

function Earlier({ message }: { message: ThreadMessage }) {
  if (!message.earlier?.length) return null;
  const n = message.earlier.length;
  return (
    <details class="earlier">
      <summary>{n} earlier answer{n > 1 ? 's' : ''} to this question</summary>
      {message.earlier.map((m) => <div class="earlier-answer"><Markdown text={m.content} /></div>)}
    </details>
  );
}

function AnswerView({ message, conversationId, last, busy, onRegenerate, onFeedback }: {
  message: ThreadMessage; conversationId: number | null; last: boolean; busy: boolean;
  onRegenerate: () => void; onFeedback: (f: Feedback) => void;
}) {
  const speed = message.completion_tokens && message.duration_ms
    ? ` · ${fixed(message.completion_tokens / (message.duration_ms / 1000), 1)} tokens/s` : '';
  return (
    <article class="message assistant" aria-label="Answer" aria-busy={message.streaming ? 'true' : undefined}
             data-testid={message.streaming ? 'streaming-answer' : 'answer'}>
      <div class="bubble">
        <Markdown text={message.content} />
        {message.streaming && <span class="cursor" aria-hidden="true">▍</span>}
      </div>
      {message.stopped && (
        <p class="stopped">Stopped. This partial answer is kept only if you continue the chat; it
          takes no feedback until then. Regenerate it for a whole one.</p>
      )}
      {!message.streaming && !!message.completion_tokens && (
        <p class="answer-meta muted">{message.completion_tokens} tokens · {seconds(message.duration_ms ?? 0)}{speed}</p>
      )}
      <Earlier message={message} />
      {!message.streaming && (
        <div class="answer-actions">
          {last && <button type="button" disabled={busy} onClick={onRegenerate}>Regenerate</button>}
          {conversationId && message.id
            ? <FeedbackControls conversationId={conversationId} messageId={message.id} answer={message.content}
                                feedback={message.feedback ?? null} onSaved={onFeedback} />
            : !message.stopped && <span class="muted">This answer is not kept, so it takes no feedback.</span>}
        </div>
      )}
    </article>
  );
}

export function Thread({ messages, conversationId, busy, onEdit, onRegenerate, onFeedback }: {
  messages: ThreadMessage[]; conversationId: number | null; busy: boolean;
  onEdit: (index: number, text: string) => void; onRegenerate: () => void;
  onFeedback: (index: number, f: Feedback) => void;
}) {
  const lastAnswer = messages.map((m) => m.role).lastIndexOf('assistant');
  return (
    <div class="thread" data-testid="thread">
      {messages.map((m, i) => {
        if (m.role === 'user') return <Question key={`${i}-${m.id ?? ''}`} message={m} busy={busy} onEdit={(t) => onEdit(i, t)} />;
        if (m.role === 'assistant') {
          return <AnswerView key={`${i}-${m.id ?? ''}`} message={m} conversationId={conversationId}
                             last={i === lastAnswer && i === messages.length - 1} busy={busy}
                             onRegenerate={onRegenerate} onFeedback={(f) => onFeedback(i, f)} />;
        }
        return <p class="system muted" key={i}>System prompt: {m.content}</p>;
      })}
    </div>
  );
}
