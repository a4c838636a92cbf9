// The chat's state and what the user can do with it: send, stop, regenerate the last answer,
// edit an earlier question, open a kept conversation or start a new one.
//
// The server decides where each exchange goes (conversation_capture.h): with the conversation's
// id, the same messages again are a regeneration and a changed earlier question is a new branch,
// so the page sends the messages the user means and then shows the conversation as the server
// kept it. A stopped answer is not kept by the server on its own; if the user goes on, it is
// sent as part of the history and kept then, like the rest of the conversation.
//
// A conversation belongs to one model (its data is counted under that model), so changing the
// model starts a new chat, and opening a kept conversation goes on with its model.
import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from '../lib/api';
import { ask } from './stream';
import { threadOf, type Conversation, type ConversationSummary, type Feedback, type ThreadMessage } from './types';

export interface Chat {
  model: string | null;
  chooseModel: (name: string) => void;  // the page's choice on loading: nothing else changes
  setModel: (name: string) => void;     // the user's choice: a new chat when one is open
  maxTokens: number | null;
  setMaxTokens: (n: number | null) => void;
  conversationId: number | null;
  summary: ConversationSummary | null;
  setSummary: (c: ConversationSummary) => void;
  messages: ThreadMessage[];
  busy: boolean;
  error: unknown;
  announcement: string;  // for screen readers: how the last answer ended
  listVersion: number;  // grows when the conversation list should be read again
  send: (text: string) => void;
  stop: () => void;
  regenerate: () => void;
  edit: (index: number, text: string) => void;
  open: (id: number) => void;
  startNew: () => void;
  forget: (id: number) => void;
  setFeedback: (index: number, f: Feedback) => void;
}

export function useChat(): Chat {
  const [model, setModel] = useState<string | null>(null);
  const [maxTokens, setMaxTokens] = useState<number | null>(null);
  const [conversationId, setConversationId] = useState<number | null>(null);
  const [summary, setSummary] = useState<ConversationSummary | null>(null);
  const [messages, setMessages] = useState<ThreadMessage[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [announcement, setAnnouncement] = useState('');
  const [listVersion, setListVersion] = useState(0);
  const controller = useRef<AbortController | null>(null);
  // Which conversation the page shows now: an answer or a load that comes back after the user
  // moved on must not overwrite what they look at.
  const showing = useRef(0);

  const stop = () => controller.current?.abort();

  // Escape stops the answer from the composer or from nowhere in particular, not from another
  // field (a correction being written, an open list), where it means something else.
  useEffect(() => {
    if (!busy) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      const at = e.target;
      const free = at === document.body || at === document.documentElement || at === null;
      if (free || (at instanceof Element && at.closest('form.composer'))) {
        e.preventDefault();
        stop();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [busy]);

  // `adopt`: opening a kept conversation, which goes on with its own model.
  async function load(id: number, view: number, adopt = false) {
    const c = await get<Conversation>(`/api/conversations/${id}`);
    if (showing.current !== view) return;
    setConversationId(c.id);
    setSummary(c);
    setMessages(threadOf(c));
    if (adopt) setModel(c.model);
  }

  async function run(question: ThreadMessage[]) {
    if (!model || busy) return;
    const view = showing.current;
    const abort = new AbortController();
    controller.current = abort;
    setBusy(true);
    setError(null);
    setAnnouncement('');
    let ended = 'Answer complete';
    const writing: ThreadMessage = { role: 'assistant', content: '', streaming: true };
    setMessages([...question, writing]);
    const update = (patch: Partial<ThreadMessage>) => {
      if (showing.current !== view) return;
      setMessages((ms) => [...ms.slice(0, -1), { ...ms[ms.length - 1], ...patch }]);
    };
    try {
      const answer = await ask({
        model, maxTokens, conversationId,
        messages: question.map((m) => ({ role: m.role, content: m.content })),
      }, (text) => update({ content: text }), abort.signal);
      if (showing.current !== view) return;
      if (answer.stopped) ended = 'Answer stopped';
      if (answer.conversationId) {
        setConversationId(answer.conversationId);
        setListVersion((n) => n + 1);
      }
      if (answer.stopped || !answer.conversationId) {
        update({ streaming: false, stopped: answer.stopped });
        if (answer.conversationId) {
          const c = await get<Conversation>(`/api/conversations/${answer.conversationId}`);
          if (showing.current !== view) return;
          setSummary(c);
          // The model may have finished before the stop reached the server: then the whole
          // answer was kept, and that is what the user should see (and rate).
          const kept = threadOf(c);
          if (kept.length === question.length + 1 && kept[kept.length - 1].role === 'assistant') setMessages(kept);
        }
      } else {
        await load(answer.conversationId, view);
      }
    } catch (e) {
      ended = 'Answer stopped';
      if (controller.current === abort && showing.current === view) setError(e);
      if (showing.current === view) {
        setMessages((ms) => {
          const last = ms[ms.length - 1];
          return last?.streaming && !last.content ? ms.slice(0, -1) : [...ms.slice(0, -1), { ...last, streaming: false, stopped: true }];
        });
      }
    } finally {
      // A run the user left (another conversation, a new chat) must not touch a newer one.
      if (controller.current === abort && showing.current === view) {
        controller.current = null;
        setBusy(false);
        setAnnouncement(ended);
      }
    }
  }

  function leave() {
    stop();
    controller.current = null;
    showing.current += 1;
    setError(null);
    setBusy(false);
  }

  function startNew() {
    leave();
    setConversationId(null);
    setSummary(null);
    setMessages([]);
  }

  return {
    model, maxTokens, setMaxTokens, conversationId, summary, setSummary, messages, busy, error, announcement, listVersion,
    chooseModel: setModel,
    setModel: (name) => {
      if (name === model) return;
      if (messages.length || conversationId) startNew();
      setModel(name);
    },
    stop,
    send: (text) => void run([...messages, { role: 'user', content: text }]),
    regenerate: () => {
      const last = messages.map((m) => m.role).lastIndexOf('user');
      if (last >= 0) void run(messages.slice(0, last + 1));
    },
    edit: (index, text) => void run([...messages.slice(0, index), { role: 'user', content: text }]),
    open: (id) => {
      leave();
      const view = showing.current;
      load(id, view, true).catch((e) => { if (showing.current === view) setError(e); });
    },
    startNew,
    forget: (id) => { if (id === conversationId) startNew(); },
    setFeedback: (index, f) => setMessages((ms) => ms.map((m, i) => (i === index ? { ...m, feedback: f } : m))),
  };
}
