// The list of the caller's kept conversations, newest first, with search (title and message
// text, on the server), opening one and deleting one after a confirmation.
import { useEffect, useState } from 'preact/hooks';
import { api, get } from '../lib/api';
import { when } from '../lib/format';
import { ConfirmButton, ErrorNote, useLoad } from '../lib/ui';
import type { ConversationSummary } from './types';

export function ConversationList({ selected, refresh, onOpen, onNew, onDeleted }: {
  selected: number | null; refresh: number;
  onOpen: (id: number) => void; onNew: () => void; onDeleted: (id: number) => void;
}) {
  const [typed, setTyped] = useState('');
  const [query, setQuery] = useState('');
  const [deleteError, setDeleteError] = useState<unknown>(null);
  // Searching as the user types, without a request for every key.
  useEffect(() => {
    const timer = setTimeout(() => setQuery(typed.trim()), 250);
    return () => clearTimeout(timer);
  }, [typed]);
  const list = useLoad(() => get<{ conversations: ConversationSummary[] }>(
    `/api/conversations?limit=200${query ? `&q=${encodeURIComponent(query)}` : ''}`), [query, refresh]);

  async function remove(c: ConversationSummary) {
    setDeleteError(null);
    try {
      await api('DELETE', `/api/conversations/${c.id}`);
      onDeleted(c.id);
      list.reload();
    } catch (e) {
      setDeleteError(e);
    }
  }

  const conversations = list.data?.conversations ?? [];
  return (
    <nav class="conversations" aria-label="Conversations">
      <button type="button" class="primary new-chat" onClick={onNew}>New chat</button>
      <label for="conversation-search" class="visually-hidden">Search conversations</label>
      <input id="conversation-search" type="search" placeholder="Search conversations" value={typed}
             onInput={(e) => setTyped(e.currentTarget.value)} />
      {list.error !== null && <ErrorNote error={list.error} retry={list.reload} />}
      {deleteError !== null && <ErrorNote error={deleteError} />}
      {list.data && !conversations.length && (
        <p class="muted">{query ? `No conversation mentions “${query}”.` : 'No kept conversations yet.'}</p>
      )}
      <ul data-testid="conversation-list">
        {conversations.map((c) => (
          <li class={c.id === selected ? 'selected' : undefined} data-conversation-id={c.id}>
            <button type="button" class="open" aria-current={c.id === selected ? 'true' : undefined}
                    onClick={() => onOpen(c.id)}>
              <span class="title">{c.title || '(untitled)'}</span>
              <span class="meta">{c.model.replace(/:latest$/, '')} · {when(c.updated_at)}</span>
            </button>
            <ConfirmButton label={`Delete conversation ${c.title}`} question="Delete it for good?"
                           onConfirm={() => void remove(c)}>Delete</ConfirmButton>
          </li>
        ))}
      </ul>
    </nav>
  );
}
