// Clients and small helpers shared by the end-to-end tests.
import OpenAI from 'openai';
import { Ollama } from 'ollama';

// The real openai client pointed at a hearth server. No retries: a failure must show as one.
export function openaiClient(url, apiKey = 'no-key-needed-on-loopback') {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 60_000 });
}

// The real ollama client pointed at a hearth server (Bearer token when given).
export function ollamaClient(url, token) {
  return new Ollama({ host: url, headers: token ? { Authorization: `Bearer ${token}` } : undefined });
}

// fetch() with a JSON body (a string body is sent as is, for malformed-JSON tests). Resolves to
// { status, headers, text, json } (json undefined when the body is not JSON).
export async function request(url, { method = 'POST', body, headers = {}, signal } = {}) {
  const init = { method, headers: { ...headers }, signal };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['Content-Type'] = init.headers['Content-Type'] ?? 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

// The `data:` payloads of a text/event-stream body, in order (comments and other fields
// skipped; multi-line data joined with "\n").
export function sseData(text) {
  const out = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''));
    if (data.length) out.push(data.join('\n'));
  }
  return out;
}

// Every line of an NDJSON body, parsed.
export function ndjson(text) {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

// A streaming /v1/chat/completions over raw fetch: resolves to { text, chunks, usage,
// finishReason, ttftMs, totalMs, sawDone }.
export async function streamChat(url, body, { headers = {}, signal } = {}) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  });
  if (res.status !== 200) {
    throw new Error(`status ${res.status}: ${await res.text()}`);
  }
  const decoder = new TextDecoder();
  let buffer = '';
  let text = '';
  let ttftMs = null;
  let usage = null;
  let finishReason = null;
  let sawDone = false;
  const chunks = [];
  for await (const piece of res.body) {
    buffer += decoder.decode(piece, { stream: true });
    let sep;
    while ((sep = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, sep);
      buffer = buffer.slice(sep).replace(/^\r?\n\r?\n/, '');
      for (const data of sseData(block + '\n\n')) {
        if (data === '[DONE]') {
          sawDone = true;
          continue;
        }
        const chunk = JSON.parse(data);
        chunks.push(chunk);
        const choice = chunk.choices?.[0];
        const delta = choice?.delta?.content;
        if (delta) {
          if (ttftMs === null) ttftMs = performance.now() - t0;
          text += delta;
        }
        if (choice?.finish_reason) finishReason = choice.finish_reason;
        if (chunk.usage) usage = chunk.usage;
      }
    }
  }
  return { text, chunks, usage, finishReason, ttftMs, totalMs: performance.now() - t0, sawDone };
}

// Polls `fn` until it returns a truthy value; returns that value, or the last one after
// `timeoutMs`.
export async function waitFor(fn, { timeoutMs = 5000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let value;
  for (;;) {
    value = await fn();
    if (value || Date.now() >= deadline) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function l2norm(v) {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}
