// The chat's state and what the user can do with it: send, stop, regenerate the last answer,
// edit an earlier question, open a kept conversation or start a new one.
//
// The server decides where each exchange goes (conversation_capture.h): with the conversation's
// id, the same messages again are a regeneration and a changed earlier question is a new branch,
// so the page sends the messages the user means and then shows the conversation as the server
// kept it. A stopped answer is not kept by the server, so it stays only in this tab.
import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from '../lib/api';
import { ask } from './stream';
import { threadOf, type Conversation, type ConversationSummary, type Feedback, type ThreadMessage } from './types';

export interface Chat {
  model: string | null;
  setModel: (name: string) => void;
  maxTokens: number | null;
  setMaxTokens: (n: number | null) => void;
  conversationId: number | null;
  summary: ConversationSummary | null;
  setSummary: (c: ConversationSummary) => void;
  messages: ThreadMessage[];
  busy: boolean;
  error: unknown;
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

export function useChat(initialModel: string | null): Chat {
  const [model, setModel] = useState<string | null>(initialModel);
  const [maxTokens, setMaxTokens] = useState<number | null>(null);
  const [conversationId, setConversationId] = useState<number | null>(null);
  const [summary, setSummary] = useState<ConversationSummary | null>(null);
  const [messages, setMessages] = useState<ThreadMessage[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [listVersion, setListVersion] = useState(0);
  const controller = useRef<AbortController | null>(null);
  // Which conversation the page shows now: an answer or a load that comes back after the user
  // moved on must not overwrite what they look at.
  const showing = useRef(0);

  const stop = () => controller.current?.abort();

  useEffect(() => {
    if (!busy) return;
    const onKey = (e: KeyboardEvent) => { if (e.key === 'Escape') stop(); };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [busy]);

  async function load(id: number, view: number) {
    const c = await get<Conversation>(`/api/conversations/${id}`);
    if (showing.current !== view) return;
    setConversationId(c.id);
    setSummary(c);
    setMessages(threadOf(c));
  }

  async function run(question: ThreadMessage[]) {
    if (!model || busy) return;
    const view = showing.current;
    const abort = new AbortController();
    controller.current = abort;
    setBusy(true);
    setError(null);
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
      setError(e);
      if (showing.current === view) {
        setMessages((ms) => {
          const last = ms[ms.length - 1];
          return last?.streaming && !last.content ? ms.slice(0, -1) : [...ms.slice(0, -1), { ...last, streaming: false, stopped: true }];
        });
      }
    } finally {
      if (controller.current === abort) controller.current = null;
      setBusy(false);
    }
  }

  function leave() {
    stop();
    showing.current += 1;
    setError(null);
    setBusy(false);
  }

  return {
    model, setModel, maxTokens, setMaxTokens, conversationId, summary, setSummary, messages, busy, error, listVersion,
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
      load(id, view).catch((e) => { if (showing.current === view) setError(e); });
    },
    startNew: () => {
      leave();
      setConversationId(null);
      setSummary(null);
      setMessages([]);
    },
    forget: (id) => {
      if (id !== conversationId) return;
      leave();
      setConversationId(null);
      setSummary(null);
      setMessages([]);
    },
    setFeedback: (index, f) => setMessages((ms) => ms.map((m, i) => (i === index ? { ...m, feedback: f } : m))),
  };
}
