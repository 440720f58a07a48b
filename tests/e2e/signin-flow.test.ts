import { saveConfiguredEnvironment, testClock, testServices, testRepositories } from '../support/storage.js';
import { uniqueId } from '../support/ids.js';
import { afterEach, describe, expect, it } from 'vitest';
import { SESSION_COOKIE, TRANSACTION_COOKIE } from '../../shared/auth/signin-http.js';
import {
  addPerson,
  refusalReasons,
  authorize,
  Browser,
  sessionOf,
  signIn,
  startLogin,
  useSigninWorld,
} from './signin-support.js';

const world = useSigninWorld();

afterEach(() => {
  testClock.use(undefined);
});

/** A 4xx, no redirect, no session cookie, and the refusal logged with `reason` since log line `mark`. */
function expectNoSession(response: Response, browser: Browser, reason: string, mark: number): void {
  expect(refusalReasons(world(), mark)).toEqual([reason]);
  expect(response.status).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
  expect(response.headers.get('location')).toBeNull();
  expect(browser.lastSetCookies.some((c) => c.name === SESSION_COOKIE && c.value !== '')).toBe(false);
  expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
}

describe('login', () => {
  it('redirects to the directory with code flow, PKCE S256, state and nonce, and binds a transaction cookie', async () => {
    const browser = new Browser();
    const { response, authorizeUrl } = await startLogin(world(), browser, { returnTo: '/projects' });
    expect(response.status).toBe(302);
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(
      `${world().directory.authorityHost}/${world().directory.id}/oauth2/v2.0/authorize`,
    );
    const q = authorizeUrl.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe(world().directory.app.clientId);
    expect(q.get('redirect_uri')).toBe(world().callbackUrl);
    expect(q.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = browser.lastSetCookies.find((c) => c.name === TRANSACTION_COOKIE);
    expect(cookie).toBeDefined();
    expect(cookie!.attributes).toMatchObject({ httponly: '', secure: '', path: '/' });
    expect(Number(cookie!.attributes['max-age'])).toBeLessThanOrEqual(600);
    // Two logins never share secrets.
    const second = await startLogin(world(), new Browser());
    expect(second.authorizeUrl.searchParams.get('state')).not.toBe(q.get('state'));
    expect(second.authorizeUrl.searchParams.get('nonce')).not.toBe(q.get('nonce'));
  });

  it('answers 404 for an unknown environment and 400 without one, as a page for browsers and problem+json otherwise', async () => {
    const browser = new Browser();
    const unknown = await browser.fetch(`${world().host.url}/api/auth/login?environment=no-such-env`, {
      headers: { accept: 'text/html' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^text\/html/);
    expect(unknown.headers.get('location')).toBeNull();
    // An id no environment can have is as unknown as any other.
    for (const impossible of ['a.b', 'a%2Fb', 'x'.repeat(65)]) {
      const answer = await browser.fetch(`${world().host.url}/api/auth/login?environment=${impossible}`, {
        headers: { accept: 'application/json' },
      });
      expect(answer.status).toBe(404);
      expect(await answer.json()).toMatchObject({ type: '/problems/not-found', status: 404 });
    }
    const missing = await browser.fetch(`${world().host.url}/api/auth/login`, {
      headers: { accept: 'application/json' },
    });
    expect(missing.status).toBe(400);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    // A client that does not ask for HTML (curl, fetch: */*) gets the API's problem documents.
    for (const accept of ['*/*', '']) {
      const plain = await browser.fetch(`${world().host.url}/api/auth/login?environment=no-such-env`, {
        headers: { accept },
      });
      expect(plain.status).toBe(404);
      expect(plain.headers.get('content-type')).toBe('application/problem+json');
      expect(await plain.json()).toMatchObject({ type: '/problems/not-found', status: 404 });
    }
  });

  it('answers 409 when the integration is off or not configured', async () => {
    const off = `signin-off-${Date.now()}`;
    await testRepositories().environments.save({ id: off, name: 'Off', externalUsersIntegration: false });
    const unconfigured = `signin-unconf-${Date.now()}`;
    await testRepositories().environments.save({
      id: unconfigured,
      name: 'Unconfigured',
      externalUsersIntegration: true,
    });
    for (const id of [off, unconfigured]) {
      const response = await new Browser().fetch(`${world().host.url}/api/auth/login?environment=${id}`, {
        headers: { accept: 'application/json' },
      });
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({ type: '/problems/integration-disabled', status: 409 });
    }
  });
});

describe('login: tenants that cannot sign anyone in', () => {
  async function environmentWithTenant(tenant: { authorityHost?: string; listsEnvironment?: boolean }) {
    const id = uniqueId('signin-t');
    const name = `tenant-${id}`;
    await testRepositories().tenants.save({
      name,
      owner: 'signin-tests',
      directoryId: world().directory.id,
      clientId: world().directory.app.clientId,
      clientSecret: world().directory.app.clientSecret,
      environments: tenant.listsEnvironment === false ? ['someone-else'] : [id],
      authorityHost: tenant.authorityHost ?? world().directory.authorityHost,
      graphBaseUrl: world().directory.graphBaseUrl,
    });
    await saveConfiguredEnvironment({
      id,
      tenant: name,
      groupsToSync: ['00000000-0000-0000-0000-000000000001'],
    });
    return id;
  }

  it('a tenant that does not list the environment: 409', async () => {
    const id = await environmentWithTenant({ listsEnvironment: false });
    const response = await new Browser().fetch(`${world().host.url}/api/auth/login?environment=${id}`);
    expect(response.status).toBe(409);
    expect(response.headers.get('location')).toBeNull();
  });

  it('a directory that cannot be reached: an error page, no redirect', async () => {
    const { freePort } = await import('../../scripts/azurite.js');
    const id = await environmentWithTenant({ authorityHost: `https://localhost:${await freePort()}` });
    const mark = world().logs.length;
    const response = await new Browser().fetch(`${world().host.url}/api/auth/login?environment=${id}`, {
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    expect(response.status).toBe(502);
    expect(response.headers.get('location')).toBeNull();
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toMatch(/could not be reached/);
    expect(refusalReasons(world(), mark)).toEqual(['directory-unreachable']);
  });
});

describe('sign-in, session and logout', () => {
  it('signs in, shows the session for 8 hours, and logs out for good', async () => {
    const user = await addPerson(world());
    const browser = new Browser();
    const signedInAt = Date.now();
    const result = await authorize(world(), browser, user, { returnTo: '/projects/7?tab=files' });
    const transactionValue = browser.cookies.get(TRANSACTION_COOKIE);
    expect(transactionValue).toBeDefined();
    const callback = await browser.fetch(result.location);
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/projects/7?tab=files');

    const cookie = browser.lastSetCookies.find((c) => c.name === SESSION_COOKIE);
    expect(cookie).toBeDefined();
    expect(cookie!.name.startsWith('__Host-')).toBe(true);
    expect(cookie!.attributes).toMatchObject({ httponly: '', secure: '', samesite: 'Lax', path: '/' });
    expect(cookie!.attributes.domain).toBeUndefined();
    const maxAge = Number(cookie!.attributes['max-age']);
    expect(maxAge).toBeGreaterThan(8 * 3600 - 60);
    expect(maxAge).toBeLessThanOrEqual(8 * 3600);
    expect(cookie!.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The transaction is over: its cookie is cleared.
    expect(browser.cookies.has(TRANSACTION_COOKIE)).toBe(false);

    const session = await sessionOf(world(), browser);
    expect(session.status).toBe(200);
    const body = (await session.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      displayName: user.displayName,
      email: user.mail,
      environment: world().environmentId,
    });
    expect(typeof body.userId).toBe('string');
    const expiresAt = Date.parse(String(body.expiresAt));
    expect(expiresAt - signedInAt).toBeGreaterThanOrEqual(8 * 3600 * 1000 - 1000);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(8 * 3600 * 1000);
    // The cookie does not outlive the session.
    const cookieExpires = Date.parse(cookie!.attributes.expires ?? '');
    expect(cookieExpires).toBeLessThanOrEqual(expiresAt);

    // Nothing secret reaches the logs: not the code, the state, nor either cookie.
    const secrets = [result.code!, result.state!, cookie!.value, transactionValue!];
    for (const secret of secrets) expect(world().logs.join('\n')).not.toContain(secret);

    const oldCookie = browser.clone();
    const logout = await browser.fetch(`${world().host.url}/api/auth/logout`, { method: 'POST' });
    expect(logout.status).toBe(204);
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
    // Replaying the old cookie after logout: the server has forgotten the session.
    expect((await sessionOf(world(), oldCookie)).status).toBe(401);
  });

  it('answers 401 without a cookie and with a made-up one', async () => {
    expect((await sessionOf(world(), new Browser())).status).toBe(401);
    const forged = new Browser();
    forged.cookies.set(SESSION_COOKIE, 'A'.repeat(43));
    const response = await sessionOf(world(), forged);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });

  it('refuses the session at 8 hours and 1 second, however active it was', async () => {
    const user = await addPerson(world());
    const browser = new Browser();
    expect((await signIn(world(), browser, user)).status).toBe(302);
    const start = Date.now();
    testClock.use({ now: () => new Date(start + 4 * 3600 * 1000) });
    expect((await sessionOf(world(), browser)).status).toBe(200);
    testClock.use({ now: () => new Date(start + 8 * 3600 * 1000 + 1000) });
    expect((await sessionOf(world(), browser)).status).toBe(401);
    testClock.use(undefined);
    // Gone for good, not only refused while the clock was ahead.
    expect((await sessionOf(world(), browser)).status).toBe(401);
  });

  it('ends the session as soon as the access is deactivated (check on use)', async () => {
    const user = await addPerson(world());
    const browser = new Browser();
    expect((await signIn(world(), browser, user)).status).toBe(302);
    expect((await sessionOf(world(), browser)).status).toBe(200);
    await addPersonAccess(user.id, false);
    expect((await sessionOf(world(), browser)).status).toBe(401);
  });

  it('revokeUser kills every session of the user in that environment', async () => {
    const user = await addPerson(world());
    const first = new Browser();
    const second = new Browser();
    expect((await signIn(world(), first, user)).status).toBe(302);
    expect((await signIn(world(), second, user)).status).toBe(302);
    const other = await addPerson(world());
    const bystander = new Browser();
    expect((await signIn(world(), bystander, other)).status).toBe(302);
    const body = (await (await sessionOf(world(), first)).json()) as { userId: string };
    await testServices().sessions.revokeUser(world().environmentId, body.userId);
    expect((await sessionOf(world(), first)).status).toBe(401);
    expect((await sessionOf(world(), second)).status).toBe(401);
    expect((await sessionOf(world(), bystander)).status).toBe(200);
  });
});

async function addPersonAccess(objectId: string, active: boolean): Promise<void> {
  const { seedEnvironmentUser } = await import('../support/users.js');
  const user = await world().directory.getUser(objectId);
  await seedEnvironmentUser({
    environmentId: world().environmentId,
    directoryId: world().directory.id,
    objectId,
    displayName: user.displayName,
    email: user.mail ?? user.userPrincipalName,
    active,
  });
}

describe('who may not sign in', () => {
  it('a user whose access is deactivated gets no session', async () => {
    const user = await addPerson(world(), { active: false });
    const browser = new Browser();
    const mark = world().logs.length;
    const response = await signIn(world(), browser, user);
    expectNoSession(response, browser, 'access-deactivated', mark);
    expect(response.status).toBe(403);
  });

  it('a directory user the sync never brought in gets no session', async () => {
    const user = await addPerson(world(), { synced: false });
    const browser = new Browser();
    const mark = world().logs.length;
    const response = await signIn(world(), browser, user);
    expectNoSession(response, browser, 'user-unknown', mark);
    expect(await response.text()).toMatch(/does not have access/);
  });

  it('a disabled account gets no session, even with a code issued before it was disabled', async () => {
    const user = await addPerson(world());
    const browser = new Browser();
    const result = await authorize(world(), browser, user);
    await world().directory.disableUser(user.id);
    const mark = world().logs.length;
    const response = await browser.fetch(result.location);
    expectNoSession(response, browser, 'code-exchange-failed', mark);
  });

  it('a disabled account cannot even get a code from the directory', async () => {
    const user = await addPerson(world(), { accountEnabled: false });
    const browser = new Browser();
    const { authorizeUrl } = await startLogin(world(), browser);
    const { signInWithPage } = await import('../support/dev-directory.js');
    const result = await signInWithPage(authorizeUrl.toString(), {
      username: user.userPrincipalName,
      password: user.password,
    });
    expect(result.kind).toBe('sign-in-error');
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
  });

  it('a user whom the sync deactivated for a disabled account gets no session', async () => {
    const user = await addPerson(world());
    await addPersonAccess(user.id, false);
    const browser = new Browser();
    const mark = world().logs.length;
    expectNoSession(await signIn(world(), browser, user), browser, 'access-deactivated', mark);
  });
});

describe('transaction defects', () => {
  it('a tampered state: no session', async () => {
    const user = await addPerson(world());
    const browser = new Browser();
    const result = await authorize(world(), browser, user);
    const url = new URL(result.location);
    url.searchParams.set('state', `${result.state!.slice(0, -2)}xx`);
    const mark = world().logs.length;
    const response = await browser.fetch(url.toString());
    expectNoSession(response, browser, 'state-mismatch', mark);
    expect(response.status).toBe(400);
  });

  it('a missing state: no session', async () => {
    const user = await addPerson(world());
    const browser = new Browser();
    const result = await authorize(world(), browser, user);
    const url = new URL(result.location);
    url.searchParams.delete('state');
    const mark = world().logs.length;
    const response = await browser.fetch(url.toString());
    expectNoSession(response, browser, 'state-missing', mark);
    expect(response.status).toBe(400);
  });

  it('a missing transaction cookie (another browser): no session', async () => {
    const user = await addPerson(world());
    const result = await authorize(world(), new Browser(), user);
    const stranger = new Browser();
    const mark = world().logs.length;
    const response = await stranger.fetch(result.location);
    expectNoSession(response, stranger, 'transaction-cookie-missing', mark);
    expect(response.status).toBe(400);
  });

  it('a replayed callback: the second one gets no session', async () => {
    const user = await addPerson(world());
    const browser = new Browser();
    const result = await authorize(world(), browser, user);
    const replayer = browser.clone();
    expect((await browser.fetch(result.location)).status).toBe(302);
    const mark = world().logs.length;
    const replay = await replayer.fetch(result.location);
    expectNoSession(replay, replayer, 'transaction-unknown', mark);
    expect(replay.status).toBe(400);
  });

  it('a code issued to another client: no session', async () => {
    const user = await addPerson(world());
    const otherApp = await world().directory.addApplication({ redirectUris: [world().callbackUrl] });
    const browser = new Browser();
    const { authorizeUrl } = await startLogin(world(), browser);
    authorizeUrl.searchParams.set('client_id', otherApp.clientId);
    const { signInWithPage } = await import('../support/dev-directory.js');
    const result = await signInWithPage(authorizeUrl.toString(), {
      username: user.userPrincipalName,
      password: user.password,
    });
    if (result.kind !== 'redirect') throw new Error(`expected a redirect, got ${result.kind}`);
    expect(result.code).toBeDefined();
    const mark = world().logs.length;
    const response = await browser.fetch(result.location);
    expectNoSession(response, browser, 'code-exchange-failed', mark);
    expect(response.status).toBe(400);
  });

  it('an error from the directory (user cancelled): no session, a readable page', async () => {
    const browser = new Browser();
    const { authorizeUrl } = await startLogin(world(), browser);
    const url = new URL(world().callbackUrl);
    url.searchParams.set('error', 'access_denied');
    url.searchParams.set('state', authorizeUrl.searchParams.get('state')!);
    const mark = world().logs.length;
    const response = await browser.fetch(url.toString(), { headers: { accept: 'text/html' } });
    expectNoSession(response, browser, 'identity-provider-error', mark);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).not.toMatch(/access_denied|stack|Error:/);
  });
});

describe('callback variants', () => {
  it('accepts the directory coming back with a form POST (response_mode=form_post)', async () => {
    const user = await addPerson(world());
    const browser = new Browser();
    const { authorizeUrl } = await startLogin(world(), browser, { returnTo: '/after-post' });
    const txCookie = browser.lastSetCookies.find((c) => c.name === TRANSACTION_COOKIE);
    // A cross-site POST only carries SameSite=None cookies.
    expect(txCookie?.attributes.samesite).toBe('None');
    authorizeUrl.searchParams.set('response_mode', 'form_post');
    const { signInWithPage } = await import('../support/dev-directory.js');
    const result = await signInWithPage(authorizeUrl.toString(), {
      username: user.userPrincipalName,
      password: user.password,
    });
    if (result.kind !== 'form_post') throw new Error(`expected a form post, got ${result.kind}`);
    expect(result.action).toBe(world().callbackUrl);
    const response = await browser.fetch(result.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(result.fields).toString(),
    });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/after-post');
    expect((await sessionOf(world(), browser)).status).toBe(200);
  });

  it('refuses a transaction older than 10 minutes', async () => {
    const user = await addPerson(world());
    const browser = new Browser();
    const result = await authorize(world(), browser, user);
    const start = Date.now();
    testClock.use({ now: () => new Date(start + 10 * 60 * 1000 + 1000) });
    const mark = world().logs.length;
    const response = await browser.fetch(result.location);
    expectNoSession(response, browser, 'transaction-expired', mark);
  });

  it('answers problem+json in user terms when the client asks for JSON', async () => {
    const user = await addPerson(world(), { synced: false });
    const browser = new Browser();
    const result = await authorize(world(), browser, user);
    const response = await browser.fetch(result.location, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await response.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 403, type: '/problems/forbidden' });
    expect(String(problem.detail)).toMatch(/does not have access/);
    expect(JSON.stringify(problem)).not.toMatch(/user-unknown|oid|tid|token/i);
  });
});

describe('open redirects', () => {
  it.each(['https://evil.example', '//evil.example', '/\\evil.example'])(
    'returnTo %s lands on /',
    async (returnTo) => {
      const user = await addPerson(world());
      const browser = new Browser();
      const response = await signIn(world(), browser, user, { returnTo });
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe('/');
    },
  );

  it('a same-origin path whose query holds a space (sent as +) is kept, the space as %20', async () => {
    const user = await addPerson(world());
    const browser = new Browser();
    const response = await signIn(world(), browser, user, { returnTo: '/search?q=a b' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/search?q=a%20b');
  });
});
