import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { createApi } from './api.js';
import {
  beginSignIn,
  completeSignIn,
  forgetSession,
  isSignInCallback,
  loadConfig,
  signInErrorMessage,
  storedSession,
  type ConsoleConfig,
  type StaffSession,
} from './auth.js';
import { can, ROLE_LABELS } from './logic/principal.js';
import { href, parseRoute, type Route } from './logic/routes.js';
import { EnvironmentScreen, EnvironmentsScreen } from './screens/environments.js';
import { ExternalUsersScreen } from './screens/external-users.js';
import { RunScreen, RunsScreen } from './screens/runs.js';
import { SessionScreen } from './screens/session.js';
import { TenantScreen, TenantsScreen } from './screens/tenants.js';
import { UserScreen, UsersScreen } from './screens/users.js';
import { Link } from './ui/components.js';
import { Context, type ConsoleContext } from './ui/context.js';
import { navigate, onNavigate } from './ui/navigation.js';

type Phase =
  | { readonly name: 'starting' }
  | { readonly name: 'signed-out'; readonly message?: string }
  | { readonly name: 'signed-in'; readonly session: StaffSession }
  | { readonly name: 'failed'; readonly message: string };

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.pathname));
  useEffect(() => onNavigate(() => setRoute(parseRoute(window.location.pathname))), []);
  return route;
}

/** Focus moves to the new screen's heading, so a screen reader announces where the user is. */
function useFocusOnNavigation(route: Route): void {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [href(route)]);
}

export function App() {
  const route = useRoute();
  if (route.name === 'session') return <SessionScreen />;
  return <StaffConsole route={route} />;
}

/** The console's sign-in state: started from the stored session or a sign-in callback, then signed in or out. */
function useStaffSession() {
  const [config, setConfig] = useState<ConsoleConfig | undefined>();
  const [phase, setPhase] = useState<Phase>({ name: 'starting' });

  useEffect(() => {
    let current = true;
    (async () => {
      const loaded = await loadConfig();
      if (!current) return;
      setConfig(loaded);
      const url = new URL(window.location.href);
      if (isSignInCallback(url)) {
        const { session, returnPath } = await completeSignIn(loaded, url);
        navigate(returnPath, { replace: true });
        if (current) setPhase({ name: 'signed-in', session });
        return;
      }
      const session = storedSession();
      setPhase(session === undefined ? { name: 'signed-out' } : { name: 'signed-in', session });
    })().catch((error: unknown) => {
      if (!current) return;
      // A failed callback leaves the code in the address bar; the console starts clean instead.
      navigate(href({ name: 'home' }), { replace: true });
      setPhase({ name: 'signed-out', message: signInErrorMessage(error) });
    });
    return () => {
      current = false;
    };
  }, []);

  const signIn = () => {
    if (config === undefined) return;
    beginSignIn(config, window.location.pathname).catch((error: unknown) =>
      setPhase({ name: 'signed-out', message: signInErrorMessage(error) }),
    );
  };
  const signOut = (message?: string) => {
    forgetSession();
    setPhase({ name: 'signed-out', ...(message === undefined ? {} : { message }) });
  };
  return { config, phase, signIn, signOut };
}

/** What the signed-in screens share: the API with the session's token, the principal, navigation. */
function useConsoleContext(
  session: StaffSession | undefined,
  signOut: (message?: string) => void,
): ConsoleContext | undefined {
  return useMemo<ConsoleContext | undefined>(
    () =>
      session === undefined
        ? undefined
        : {
            api: createApi(
              () => session.accessToken,
              () => signOut('Your sign-in has expired or was refused: sign in again.'),
            ),
            principal: session.principal,
            navigate: (path) => navigate(path),
          },
    [session],
  );
}

function TopBar({
  route,
  context,
  onSignOut,
}: {
  route: Route;
  context: ConsoleContext;
  onSignOut: () => void;
}) {
  return (
    <>
      <nav aria-label="Main">
        <ul>
          {can.manageTenants(context.principal) && (
            <li>
              <Link
                href={href({ name: 'tenants' })}
                current={route.name === 'tenants' || route.name === 'tenant'}
              >
                Tenants
              </Link>
            </li>
          )}
          <li>
            <Link
              href={href({ name: 'environments' })}
              current={route.name !== 'tenants' && route.name !== 'tenant' && route.name !== 'home'}
            >
              Environments
            </Link>
          </li>
        </ul>
      </nav>
      <div class="who">
        <span>
          {context.principal.name} (
          {context.principal.roles.map((r) => ROLE_LABELS[r]).join(', ') || 'no role'})
        </span>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </>
  );
}

function SignIn({
  message,
  onSignIn,
  ready,
}: {
  message: string | undefined;
  onSignIn: () => void;
  ready: boolean;
}) {
  return (
    <section class="signin">
      <h1 tabIndex={-1}>Sign in</h1>
      <p>Partners, platform operators and environment admins sign in with their organization account.</p>
      {message !== undefined && (
        <p role="alert" class="problem">
          {message}
        </p>
      )}
      <button type="button" onClick={onSignIn} disabled={!ready}>
        Sign in
      </button>
    </section>
  );
}

function StaffConsole({ route }: { route: Route }) {
  const { config, phase, signIn, signOut } = useStaffSession();
  useFocusOnNavigation(route);
  const context = useConsoleContext(phase.name === 'signed-in' ? phase.session : undefined, signOut);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">BizzStream console</span>
        {context !== undefined && <TopBar route={route} context={context} onSignOut={() => signOut()} />}
      </header>
      <main id="main">
        {phase.name === 'starting' && (
          <p role="status" class="loading">
            Starting…
          </p>
        )}
        {phase.name === 'failed' && (
          <p role="alert" class="problem">
            {phase.message}
          </p>
        )}
        {phase.name === 'signed-out' && (
          <SignIn message={phase.message} onSignIn={signIn} ready={config !== undefined} />
        )}
        {context !== undefined && (
          <Context.Provider value={context}>
            <Screen route={route} />
          </Context.Provider>
        )}
      </main>
    </>
  );
}

function Screen({ route }: { route: Route }) {
  switch (route.name) {
    case 'home':
      return <EnvironmentsScreen home />;
    case 'tenants':
      return <TenantsScreen />;
    case 'tenant':
      return <TenantScreen name={route.tenant} />;
    case 'environments':
      return <EnvironmentsScreen />;
    case 'environment':
      return <EnvironmentScreen envId={route.envId} />;
    case 'externalUsers':
      return <ExternalUsersScreen envId={route.envId} />;
    case 'runs':
      return <RunsScreen envId={route.envId} />;
    case 'run':
      return <RunScreen envId={route.envId} runId={route.runId} />;
    case 'users':
      return <UsersScreen envId={route.envId} />;
    case 'user':
      return <UserScreen envId={route.envId} userId={route.userId} />;
    case 'session':
    case 'notFound':
      return (
        <section>
          <h1 tabIndex={-1}>Page not found</h1>
          <p>
            There is no screen at this address. <Link href={href({ name: 'home' })}>Go to the start</Link>.
          </p>
        </section>
      );
  }
}
