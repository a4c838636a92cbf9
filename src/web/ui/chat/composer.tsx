// Writing the next message: Enter sends, Shift+Enter starts a new line, Escape stops an answer
// being written (chat.ts listens for it on the window). The answer-length limit applies to this
// page only.
import { useState } from 'preact/hooks';

export function Composer({ busy, canSend, onSend, onStop, maxTokens, onMaxTokens }: {
  busy: boolean; canSend: boolean; onSend: (text: string) => void; onStop: () => void;
  maxTokens: number | null; onMaxTokens: (n: number | null) => void;
}) {
  const [text, setText] = useState('');
  const send = () => {
    if (busy || !canSend || !text.trim()) return;
    onSend(text);
    setText('');
  };
  return (
    <form class="composer" onSubmit={(e) => { e.preventDefault(); send(); }}>
      <label for="chat-input" class="visually-hidden">Message</label>
      <textarea id="chat-input" rows={3} value={text} placeholder="Write a message (Enter sends, Shift+Enter for a new line)"
                onInput={(e) => setText(e.currentTarget.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
                }} />
      <div class="composer-actions">
        <span class="max-tokens">
          <label for="chat-max-tokens">Longest answer (tokens)</label>
          <input id="chat-max-tokens" type="number" min={1} step={1} placeholder="model default"
                 value={maxTokens ?? ''}
                 onInput={(e) => {
                   const n = Number.parseInt(e.currentTarget.value, 10);
                   onMaxTokens(Number.isFinite(n) && n > 0 ? n : null);
                 }} />
        </span>
        {busy
          ? <button key="stop" type="button" class="danger" onClick={onStop} aria-keyshortcuts="Escape">Stop</button>
          : <button key="send" type="submit" class="primary" disabled={!canSend || !text.trim()}>Send</button>}
      </div>
    </form>
  );
}
