import { useEffect, useState } from 'preact/hooks';
import { createApi, problemOf } from '../api.js';
import type { Problem } from '../logic/problem.js';
import { sessionEnds, type ConsoleSession, type ExternalSession } from '../logic/session.js';
import { Loading, ProblemMessage } from '../ui/components.js';

type State =
  | { readonly name: 'loading' }
  | { readonly name: 'signed-in'; readonly session: ExternalSession }
  | { readonly name: 'signed-out' }
  | { readonly name: 'failed'; readonly problem: Problem };

/** The external user's own session (cookie of the sign-in), with "Sign out". No staff sign-in here. */
export function SessionScreen() {
  const [state, setState] = useState<State>({ name: 'loading' });
  const [busy, setBusy] = useState(false);
  const api = createApi(
    () => undefined,
    () => undefined,
  );
  useEffect(() => {
    // The console's own route answers "not signed in" as a 200, where /api/auth/session's 401
    // would show as a failed request in the browser's console on every signed-out visit.
    const own = createApi(
      () => undefined,
      () => undefined,
      '/console/',
    );
    own.get<ConsoleSession>('session.json').then(
      (answer) =>
        setState(answer.signedIn ? { name: 'signed-in', session: answer.session } : { name: 'signed-out' }),
      (error: unknown) => setState({ name: 'failed', problem: problemOf(error) }),
    );
  }, []);
  const signOut = async () => {
    setBusy(true);
    try {
      await api.send('POST', 'auth/logout');
      setState({ name: 'signed-out' });
      document.querySelector<HTMLElement>('main h1')?.focus();
    } catch (error) {
      setState({ name: 'failed', problem: problemOf(error) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main">
      <h1 tabIndex={-1}>{state.name === 'signed-out' ? 'Signed out' : 'Your BizzStream session'}</h1>
      {state.name === 'loading' && <Loading what="your session" />}
      {state.name === 'failed' && <ProblemMessage problem={state.problem} />}
      {state.name === 'signed-out' && <p role="status">You are not signed in to BizzStream.</p>}
      {state.name === 'signed-in' && (
        <>
          <dl class="facts">
            <dt>Name</dt>
            <dd>{state.session.displayName}</dd>
            <dt>Email</dt>
            <dd>{state.session.email}</dd>
            <dt>Environment</dt>
            <dd>{state.session.environment}</dd>
            <dt>Session ends</dt>
            <dd>
              <time dateTime={state.session.expiresAt}>
                {sessionEnds(state.session.expiresAt, new Date())}
              </time>
            </dd>
          </dl>
          <button type="button" disabled={busy} onClick={() => void signOut()}>
            Sign out
          </button>
        </>
      )}
    </main>
  );
}
