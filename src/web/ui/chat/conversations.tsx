// The list of the caller's kept conversations, newest first, with search (title and message
// text, on the server), opening one and deleting one after a confirmation. The list comes a page
// at a time: "Show older" asks for the next page after the rows shown.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, get } from '../lib/api';
import { when } from '../lib/format';
import { ConfirmButton, ErrorNote, useLoad } from '../lib/ui';
import type { ConversationSummary } from './types';

export const PAGE_SIZE = 50;

function listUrl(query: string, offset: number): string {
  return `/api/conversations?limit=${PAGE_SIZE}&offset=${offset}${query ? `&q=${encodeURIComponent(query)}` : ''}`;
}

export function ConversationList({ selected, refresh, onOpen, onNew, onDeleted }: {
  selected: number | null; refresh: number;
  onOpen: (id: number) => void; onNew: () => void; onDeleted: (id: number) => void;
}) {
  const [typed, setTyped] = useState('');
  const [query, setQuery] = useState('');
  const [deleteError, setDeleteError] = useState<unknown>(null);
  // Pages after the first, and whether the last page read was full (so there may be more).
  const [older, setOlder] = useState<ConversationSummary[]>([]);
  const [more, setMore] = useState(false);
  const [olderError, setOlderError] = useState<unknown>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  // Which search and list version the older pages follow (a page that arrives after a new
  // search must not be added to its results), and a count that tells a late page it is stale.
  const readFor = useRef<string | null>(null);
  const generation = useRef(0);
  // Searching as the user types, without a request for every key.
  useEffect(() => {
    const timer = setTimeout(() => setQuery(typed.trim()), 250);
    return () => clearTimeout(timer);
  }, [typed]);
  // A new search or a changed list (a new answer moves its conversation to the top) starts
  // again from the first page; after a deletion the first page is read again and the older
  // pages stay.
  const keys = `${refresh}\u0000${query}`;
  const list = useLoad(async () => {
    const first = await get<{ conversations: ConversationSummary[] }>(listUrl(query, 0));
    if (readFor.current !== keys) {
      readFor.current = keys;
      generation.current += 1;
      setOlder([]);
      setOlderError(null);
      setMore(first.conversations.length === PAGE_SIZE);
    } else if (!older.length) {
      setMore(first.conversations.length === PAGE_SIZE);
    }
    return first;
  }, [query, refresh]);

  async function remove(c: ConversationSummary) {
    setDeleteError(null);
    try {
      await api('DELETE', `/api/conversations/${c.id}`);
      onDeleted(c.id);
      setOlder((rows) => rows.filter((r) => r.id !== c.id));
      list.reload();
    } catch (e) {
      setDeleteError(e);
    }
  }

  const firstPage = list.data?.conversations ?? [];
  // A deletion moves later rows up a place, so a row may be in both the first page (read again)
  // and an older one: it is shown once.
  const conversations = [...firstPage, ...older.filter((o) => !firstPage.some((c) => c.id === o.id))];

  async function showOlder() {
    const asked = generation.current;
    setLoadingOlder(true);
    setOlderError(null);
    try {
      const page = await get<{ conversations: ConversationSummary[] }>(listUrl(query, conversations.length));
      if (generation.current !== asked) return;
      setOlder((rows) => [...rows, ...page.conversations.filter((p) => !rows.some((r) => r.id === p.id))]);
      setMore(page.conversations.length === PAGE_SIZE);
    } catch (e) {
      setOlderError(e);
    } finally {
      setLoadingOlder(false);
    }
  }

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
      {olderError !== null && <ErrorNote error={olderError} retry={() => void showOlder()} />}
      {more && (
        <button type="button" class="older" disabled={loadingOlder} onClick={() => void showOlder()}>
          {loadingOlder ? 'Loading…' : 'Show older'}
        </button>
      )}
    </nav>
  );
}
