// One streamed answer: POST /v1/chat/completions with "stream": true, read as Server-Sent
// Events from fetch. The conversation's id comes in the answer's head
// (X-Hearth-Conversation-Id) and the answer's own id in the final chunk's "hearth" object; a
// stopped answer has no id (the server keeps only whole answers).
import { ApiError, events, send } from '../lib/api';

export interface AskOptions {
  model: string;
  messages: { role: string; content: string }[];
  maxTokens: number | null;
  conversationId: number | null;  // continue (or regenerate / branch) this kept conversation
}

export interface Answer {
  text: string;
  conversationId: number | null;  // null when the chat was not kept
  messageId: number | null;
  stopped: boolean;
  finishReason: string | null;
}

interface Chunk {
  choices?: { delta?: { content?: string }; finish_reason?: string | null }[];
  hearth?: { conversation_id?: number; message_id?: number };
  error?: { message?: string };
}

export async function ask(options: AskOptions, onText: (text: string) => void, signal: AbortSignal): Promise<Answer> {
  const body: Record<string, unknown> = { model: options.model, messages: options.messages, stream: true };
  if (options.maxTokens) body.max_tokens = options.maxTokens;
  const headers: Record<string, string> = {};
  if (options.conversationId) headers['X-Hearth-Conversation-Id'] = String(options.conversationId);
  const answer: Answer = { text: '', conversationId: null, messageId: null, stopped: false, finishReason: null };
  let response: Response;
  try {
    response = await send('POST', '/v1/chat/completions', body, { signal, headers });
  } catch (e) {
    if ((e as Error).name === 'AbortError') return { ...answer, stopped: true };
    throw e;
  }
  const id = Number(response.headers.get('X-Hearth-Conversation-Id'));
  if (id > 0) answer.conversationId = id;
  try {
    for await (const event of events(response)) {
      if (event.data === '[DONE]') break;
      const chunk = JSON.parse(event.data) as Chunk;
      if (chunk.error) throw new ApiError(500, `the answer broke off: ${chunk.error.message ?? 'unknown error'}`);
      const choice = chunk.choices?.[0];
      const piece = choice?.delta?.content;
      if (piece) {
        answer.text += piece;
        onText(answer.text);
      }
      if (choice?.finish_reason) answer.finishReason = choice.finish_reason;
      if (chunk.hearth?.conversation_id) answer.conversationId = chunk.hearth.conversation_id;
      if (chunk.hearth?.message_id) answer.messageId = chunk.hearth.message_id;
    }
  } catch (e) {
    if (signal.aborted) return { ...answer, stopped: true };
    throw e;
  }
  return answer;
}
