// The shapes of the API answers this page reads (routes_conversations.cpp, routes_library.cpp,
// routes_personal.cpp, routes_training.cpp), and the thread as the page holds it.

export type Thumbs = 'up' | 'down';

export interface Feedback {
  thumbs: Thumbs | null;
  rating: number | null;
  reason: string;
  comment: string;
  corrected_answer: string | null;
  updated_at?: string;
}

export interface StoredMessage {
  id: number;
  parent_id: number | null;
  role: 'system' | 'user' | 'assistant';
  content: string;
  position: number;
  created_at: string;
  // Answers only:
  model?: string;
  completion_tokens?: number;
  duration_ms?: number;
  regenerated?: boolean;
  quality_score?: number | null;
  feedback?: Feedback | null;
}

export interface ConversationSummary {
  id: number;
  model: string;
  title: string;
  training_opt_in: boolean | null;  // null: the user's setting decides
  message_count: number;
  created_at: string;
  updated_at: string;
}

export interface Conversation extends ConversationSummary {
  messages: StoredMessage[];      // the current branch, first message first
  alternatives: StoredMessage[];  // replaced answers and older branches
}

export interface Settings {
  store_conversations: boolean;
  training_opt_in: boolean;
}

// One message of the thread on screen: a stored one (with its id) or one that exists only in
// this tab (being written, stopped, or never kept because storing is off).
export interface ThreadMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  id?: number;
  feedback?: Feedback | null;
  completion_tokens?: number;
  duration_ms?: number;
  streaming?: boolean;
  stopped?: boolean;
  // Messages this one replaced, newest first: earlier answers to the same question
  // (regenerated), or for a question, the versions the user edited away (older branches).
  earlier?: StoredMessage[];
}

export function threadOf(c: Conversation): ThreadMessage[] {
  return c.messages.map((m) => ({
    role: m.role,
    content: m.content,
    id: m.id,
    feedback: m.feedback ?? null,
    completion_tokens: m.completion_tokens,
    duration_ms: m.duration_ms,
    earlier: m.role === 'system'
      ? undefined
      : c.alternatives.filter((a) => a.role === m.role && a.parent_id === m.parent_id).reverse(),
  }));
}
