// Where this chat goes, always in view: kept on this machine or not, and whether it may be used
// for training (this conversation's choice, else the user's setting), with both changeable here.
import { useRef, useState } from 'preact/hooks';
import { api } from '../lib/api';
import { ErrorNote } from '../lib/ui';
import type { ConversationSummary, Settings } from './types';

export function PrivacyBar({ settings, conversation, onSettings, onConversation }: {
  settings: Settings; conversation: ConversationSummary | null;
  onSettings: (s: Settings) => void; onConversation: (c: ConversationSummary) => void;
}) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // The conversation on screen now: an answer about one the user has left must not replace it.
  const showing = useRef<number | null>(null);
  showing.current = conversation?.id ?? null;

  async function change<T>(call: () => Promise<T>, then: (t: T) => void) {
    setError(null);
    try { then(await call()); } catch (e) { setError(e); }
  }
  const putSettings = (s: Partial<Settings>) => {
    const before = settings;
    onSettings({ ...settings, ...s });
    return change(() => api<Settings>('PUT', '/api/settings', s).catch((e) => { onSettings(before); throw e; }), onSettings);
  };
  const setOptIn = (value: boolean | null) => conversation &&
    change(() => api<ConversationSummary>('PATCH', `/api/conversations/${conversation.id}`, { training_opt_in: value }),
           (c) => { if (c.id === showing.current) onConversation(c); });

  const own = conversation?.training_opt_in ?? null;
  const training = own ?? settings.training_opt_in;
  let text: string;
  if (conversation) {
    text = `Kept on this machine · used for training: ${training ? 'yes' : 'no'} (${own === null ? 'your setting' : 'this conversation'})`;
  } else if (settings.store_conversations) {
    text = `New chats are kept on this machine · used for training: ${settings.training_opt_in ? 'yes' : 'no'} (your setting)`;
  } else {
    text = 'Not kept: storing chats is off, so this chat is gone when you leave the page and is never used for training';
  }

  return (
    <section class="privacy" aria-label="Where this chat goes">
      <div class="privacy-line">
        <span data-testid="privacy-state" class={settings.store_conversations || conversation ? undefined : 'warn'}>{text}</span>
        {conversation && (
          <span class="opt-in">
            <label for="conversation-opt-in">Training use of this conversation</label>
            <select id="conversation-opt-in" value={own === null ? 'follow' : own ? 'yes' : 'no'}
                    onChange={(e) => {
                      const v = e.currentTarget.value;
                      void setOptIn(v === 'follow' ? null : v === 'yes');
                    }}>
              <option value="follow">Follow my setting ({settings.training_opt_in ? 'yes' : 'no'})</option>
              <option value="yes">Yes, use it</option>
              <option value="no">No, never</option>
            </select>
          </span>
        )}
        <button type="button" class="link" aria-expanded={open} aria-controls="chat-settings"
                onClick={() => setOpen(!open)}>{open ? 'Close settings' : 'Your settings'}</button>
      </div>
      {open && (
        <div id="chat-settings" class="privacy-settings">
          <label>
            <input type="checkbox" checked={settings.store_conversations}
                   onChange={(e) => void putSettings({ store_conversations: e.currentTarget.checked })} />
            {' '}Keep my chats on this machine (needed for feedback and training)
          </label>
          <label>
            <input type="checkbox" checked={settings.training_opt_in}
                   onChange={(e) => void putSettings({ training_opt_in: e.currentTarget.checked })} />
            {' '}Use my kept chats to train my personal models (unless a conversation says otherwise)
          </label>
        </div>
      )}
      {error !== null && <ErrorNote error={error} />}
    </section>
  );
}
