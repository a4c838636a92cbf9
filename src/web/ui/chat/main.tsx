// /chat: talk to an installed model (or one version of a personal model), and give the feedback
// that training learns from. Layout: the kept conversations on the left, the chat on the right
// with the line that says where it goes.
import { useState } from 'preact/hooks';
import { get } from '../lib/api';
import { mount, type Me } from '../lib/shell';
import { ErrorNote, useLoad } from '../lib/ui';
import { useChat } from './chat';
import { Composer } from './composer';
import { ConversationList } from './conversations';
import { ModelPicker } from './models';
import { PrivacyBar } from './privacy';
import { Thread } from './thread';
import type { Settings } from './types';
import './page.css';

function ChatPage({ me }: { me: Me }) {
  const chat = useChat();
  const loaded = useLoad(() => get<Settings>('/api/settings'));
  // The bar changes the settings and shows the change at once (the server's answer then
  // confirms it); a reload of the page reads them again.
  const [changed, setChanged] = useState<Settings | null>(null);
  const settings = changed ?? loaded.data;
  return (
    <main class="chat-page">
      <ConversationList selected={chat.conversationId} refresh={chat.listVersion}
                        onOpen={chat.open} onNew={chat.startNew} onDeleted={chat.forget} />
      <section class="chat-main" aria-label="Chat">
        <div class="chat-head">
          <div class="chat-title">
            <h1>{chat.summary?.title || 'New chat'}</h1>
            {chat.summary && (
              <p class="muted" data-testid="conversation-model">
                With {chat.summary.model.replace(/:latest$/, '')}: this conversation's data counts for this model
              </p>
            )}
          </div>
          <ModelPicker username={me.username} value={chat.model} disabled={chat.busy}
                       onChoose={chat.chooseModel} onChange={chat.setModel} />
        </div>
        {loaded.error !== null && <ErrorNote error={loaded.error} retry={loaded.reload} />}
        {settings && (
          <PrivacyBar settings={settings} conversation={chat.summary}
                      onSettings={setChanged} onConversation={chat.setSummary} />
        )}
        {chat.messages.length === 0
          ? <p class="empty muted">Ask anything. The answer is written on this machine by the model you pick;
              rate answers or correct them to teach your personal models.</p>
          : <Thread messages={chat.messages} conversationId={chat.conversationId} busy={chat.busy}
                    onEdit={chat.edit} onRegenerate={chat.regenerate} onFeedback={chat.setFeedback} />}
        {chat.error !== null && <ErrorNote error={chat.error} />}
        <div class="visually-hidden" aria-live="polite" aria-atomic="true" data-testid="chat-announcement">
          {chat.announcement}
        </div>
        <Composer busy={chat.busy} canSend={!!chat.model} onSend={chat.send} onStop={chat.stop}
                  maxTokens={chat.maxTokens} onMaxTokens={chat.setMaxTokens} />
      </section>
    </main>
  );
}

mount('chat', ChatPage,
      'Chats run on this machine. Kept chats, ratings and corrections stay in this server\'s database, ' +
      'visible only to you, and train your personal models only when you opt in.');
