// Talking to hearth's API from a page: the token (kept in sessionStorage for this tab only, sent
// as a Bearer header, never in a URL or a cookie), JSON calls with hearth's error shapes turned
// into ApiError, and streamed answers read with fetch (NDJSON lines, Server-Sent Events).

const TOKEN_KEY = 'hearth.token';

export function currentToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// A refused call: the HTTP status and the server's message ({"error": "..."} on /api/*,
// {"error": {"message": ...}} on /v1/*). `body` is the parsed answer when it was JSON.
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly body?: unknown) {
    super(message);
  }
}

// Fired on window when the server answers 401: the page shell shows the login form.
export const UNAUTHORIZED_EVENT = 'hearth:unauthorized';

export function authHeaders(extra?: HeadersInit): Headers {
  const headers = new Headers(extra);
  const token = currentToken();
  if (token) headers.set('Authorization', `Bearer ${token}`);
  return headers;
}

function messageOf(status: number, body: unknown, text: string): string {
  if (body && typeof body === 'object' && 'error' in body) {
    const error = (body as { error: unknown }).error;
    if (typeof error === 'string') return error;
    if (error && typeof error === 'object' && 'message' in error) return String((error as { message: unknown }).message);
  }
  return text.trim() || `the server answered ${status}`;
}

// Sends a request; resolves to the Response when its status is 2xx, throws ApiError otherwise.
export async function send(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<Response> {
  const headers = authHeaders(init.headers);
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    headers.set('Content-Type', 'application/json');
    payload = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, { ...init, method, headers, body: payload, credentials: 'omit', cache: 'no-store' });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'hearth is not answering: is `hearth serve` still running?');
  }
  if (response.ok) return response;
  const text = await response.text();
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { parsed = undefined; }
  if (response.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
  throw new ApiError(response.status, messageOf(response.status, parsed, text), parsed);
}

export async function api<T>(method: string, path: string, body?: unknown, init?: RequestInit): Promise<T> {
  const response = await send(method, path, body, init);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string, init?: RequestInit) => api<T>('GET', path, undefined, init);

// Every line of the body as it arrives, blank ones included, without the line ending.
async function* rawLines(response: Response): AsyncGenerator<string> {
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      yield buffered.slice(0, newline).replace(/\r$/, '');
      buffered = buffered.slice(newline + 1);
    }
  }
  if (buffered) yield buffered;
}

// The body's non-empty lines as they arrive (NDJSON streams: /api/pull, /api/chat).
export async function* lines(response: Response): AsyncGenerator<string> {
  for await (const line of rawLines(response)) if (line.trim()) yield line;
}

export interface ServerEvent {
  event: string;  // "message" when the stream named none
  data: string;
  id?: string;
}

// Server-Sent Events read from a fetch answer (EventSource cannot send the Authorization header).
// A blank line ends an event.
export async function* events(response: Response): AsyncGenerator<ServerEvent> {
  let event = 'message';
  let data: string[] = [];
  let id: string | undefined;
  for await (const line of rawLines(response)) {
    if (line === '') {
      if (data.length) yield { event, data: data.join('\n'), id };
      event = 'message';
      data = [];
      id = undefined;
    } else if (!line.startsWith(':')) {
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
  }
  if (data.length) yield { event, data: data.join('\n'), id };
}
