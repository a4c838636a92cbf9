// The frame of every page: the header with the three pages and who is signed in, the login form
// when the server asks for a token, and the line that says where this page's data goes.
import { render, type ComponentChildren, type ComponentType } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, UNAUTHORIZED_EVENT, currentToken, get, setToken } from './api';
import { ErrorNote } from './ui';
import '../style.css';

export type PageName = 'chat' | 'personal-models' | 'training';

export interface Me {
  username: string;
  auth_required: boolean;
}

interface MeAnswer {
  username: string | null;
  auth_required: boolean;
}

const PAGES: { name: PageName; href: string; label: string }[] = [
  { name: 'chat', href: '/chat', label: 'Chat' },
  { name: 'personal-models', href: '/personal-models', label: 'Personal models' },
  { name: 'training', href: '/training', label: 'Training' },
];

function Login({ onSignedIn, refused }: { onSignedIn: () => void; refused: string | null }) {
  const [token, setValue] = useState('');
  return (
    <main class="login">
      <h1>Sign in to hearth</h1>
      <p>This server asks for an API token. Make one on the machine that runs hearth with{' '}
        <code>hearth token create</code>. It stays in this tab only and goes to this server only.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!token.trim()) return;
          setToken(token.trim());
          onSignedIn();
        }}
      >
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck={false}
               value={token} onInput={(e) => setValue(e.currentTarget.value)} placeholder="hearth_…" />
        <button type="submit" class="primary">Sign in</button>
      </form>
      {refused && <ErrorNote error={refused} />}
    </main>
  );
}

// Renders `App` inside the shell once the caller is known.
function Shell({ page, App, notice }: { page: PageName; App: ComponentType<{ me: Me }>; notice: ComponentChildren }) {
  const [me, setMe] = useState<Me | null>(null);
  const [login, setLogin] = useState<{ refused: string | null } | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  // A 401 from the page's own calls (a token revoked while the page is open) asks again; the
  // sign-in check's own 401 is handled where it is made.
  const signedIn = useRef(false);
  signedIn.current = me !== null;

  useEffect(() => {
    let live = true;
    get<MeAnswer>('/api/me')
      .then((m) => {
        if (!live) return;
        setFailure(null);
        if (m.username === null) {  // the server asks for a token and this tab has none
          setMe(null);
          setLogin({ refused: null });
        } else {
          setMe({ username: m.username, auth_required: m.auth_required });
          setLogin(null);
        }
      })
      .catch((e: unknown) => {
        if (!live) return;
        if (e instanceof ApiError && e.status === 401) {
          setMe(null);
          setLogin({ refused: currentToken() ? e.message : null });
          setToken(null);
        } else {
          setFailure((e as Error).message);
        }
      });
    return () => { live = false; };
  }, [attempt]);

  useEffect(() => {
    const onUnauthorized = () => { if (signedIn.current) setAttempt((n) => n + 1); };
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, []);

  return (
    <>
      <header class="top">
        <a class="brand" href="/chat">hearth</a>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a href={p.href} aria-current={p.name === page ? 'page' : undefined}>{p.label}</a>
          ))}
        </nav>
        <span class="who">
          {me && <span data-testid="username">{me.username}</span>}
          {me && currentToken() && (
            <button type="button" class="link" onClick={() => { setToken(null); setMe(null); setAttempt((n) => n + 1); }}>
              Sign out
            </button>
          )}
        </span>
      </header>
      {me && <p class="data-notice" role="note">{notice}</p>}
      {failure && <main><ErrorNote error={failure} retry={() => setAttempt((n) => n + 1)} /></main>}
      {login && <Login refused={login.refused} onSignedIn={() => setAttempt((n) => n + 1)} />}
      {me && <App me={me} />}
    </>
  );
}

// Starts a page: `notice` is the line that tells the user where this page's data goes.
export function mount(page: PageName, App: ComponentType<{ me: Me }>, notice: ComponentChildren): void {
  const root = document.getElementById('app');
  if (!root) throw new Error('the page has no #app element');
  root.textContent = '';
  render(<Shell page={page} App={App} notice={notice} />, root);
}
