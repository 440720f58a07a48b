import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../shared/auth/signin-http.js';
import type { LocalHost } from '../../scripts/local-host/local-host.js';
import { apiClient, expectProblem } from '../support/api.js';
import {
  createTestDirectory,
  mailMessages,
  managementToken,
  waitForMail,
  type TestDirectory,
  type UserInfo,
} from '../support/dev-directory.js';
import { startTestHost } from '../support/host.js';
import { uid } from '../support/ids.js';
import { until } from '../support/wait.js';
import { Browser, sessionOf, signIn, startLogin, type SigninWorld } from './signin-support.js';

/**
 * Sign-in and password reset end to end with nothing seeded behind the API: the users come in through a
 * sync requested over HTTP, then sign in through the dev directory's page and ask for a password
 * reset, with mail going to the sink.
 */
let host: LocalHost;
let directory: TestDirectory;
let world: SigninWorld;
const api = apiClient(() => host);
const run = uid();
const env = `csr-${run}`;
const otherEnv = `csr-other-${run}`;
const tenant = `csr-${run}`;
const MAIL_FROM = `Contract Tests <contract-${run}@bizzstream.test>`;
let operator: string;
let group: string;
let otherGroup: string;
let ada: UserInfo;
let bob: UserInfo;
let carol: UserInfo;

async function sync(environment: string): Promise<Record<string, unknown>> {
  const accepted = await api('POST', `environments/${environment}/sync`, { token: operator });
  expect(accepted.status, accepted.text).toBe(202);
  const { runId } = accepted.body as { runId: string };
  return until(`run ${runId}`, async () => {
    const body = (await api('GET', `environments/${environment}/sync-runs/${runId}`, { token: operator }))
      .body as Record<string, unknown>;
    return body.status === 'queued' || body.status === 'running' ? undefined : body;
  });
}

beforeAll(async () => {
  const logs: string[] = [];
  host = await startTestHost({
    settings: { MAIL_FROM },
    publicBaseUrl: true,
    queues: { maxPollingIntervalMs: 200 },
    log: (line) => logs.push(line),
  });
  const callbackUrl = `${host.url}/api/auth/callback`;
  directory = await createTestDirectory({
    displayName: 'Contract sign-in',
    applications: [{ redirectUris: [callbackUrl] }],
  });
  world = {
    host,
    directory,
    environmentId: env,
    tenantName: tenant,
    callbackUrl,
    logs,
    stop: () => host.stop(),
  };
  operator = await managementToken('platform-operator');
  ada = await directory.addUser({ displayName: 'Ada Reset', mail: `Ada.Reset.${run}@Contoso.test` });
  bob = await directory.addUser({ displayName: 'Bob Reset', mail: `bob.reset.${run}@contoso.test` });
  carol = await directory.addUser({ displayName: 'Carol Elsewhere', mail: `carol.${run}@contoso.test` });
  group = (await directory.addGroup('Sign-in', [ada.id, bob.id])).id;
  otherGroup = (await directory.addGroup('Elsewhere', [carol.id])).id;

  const put = async (route: string, body: unknown) => {
    const answer = await api('PUT', route, { token: operator, body });
    expect(answer.status, `${route}: ${answer.text}`).toBeLessThan(300);
  };
  await put(`tenants/${tenant}`, {
    ...directory.tenantConnection(tenant, [env, otherEnv]),
    name: undefined,
  });
  for (const [id, groups] of [
    [env, group],
    [otherEnv, otherGroup],
  ] as const) {
    await put(`environments/${id}`, { name: `Contract ${id}`, externalUsersIntegration: true });
    await put(`environments/${id}/external-users`, { tenant, groupsToSync: groups });
    expect(await sync(id)).toMatchObject({ status: 'succeeded' });
  }
});

afterAll(async () => {
  await host?.stop();
});

async function userIdOf(objectId: string): Promise<string> {
  const users = (await api('GET', `environments/${env}/users`, { token: operator })).body as {
    users: { id: string; objectId: string }[];
  };
  const user = users.users.find((u) => u.objectId === objectId);
  if (!user) throw new Error(`no user for ${objectId}`);
  return user.id;
}

describe('§4 sign-in of a synced user', () => {
  it('redirects with every parameter, sets the session cookie, shows the session, and logout kills it on the server', async () => {
    const browser = new Browser();
    const { authorizeUrl } = await startLogin(world, browser, { returnTo: '/dashboard' });
    const q = authorizeUrl.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe(directory.app.clientId);
    expect(q.get('redirect_uri')).toBe(`${host.url}/api/auth/callback`);
    expect(q.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));
    for (const name of ['state', 'nonce', 'code_challenge']) expect(q.get(name)).toMatch(/^[\w-]{16,}$/);
    expect(q.get('code_challenge_method')).toBe('S256');

    const callback = await signIn(world, browser, ada, { returnTo: '/dashboard' });
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/dashboard');
    const cookie = browser.lastSetCookies.find((c) => c.name === SESSION_COOKIE);
    expect(cookie).toBeDefined();
    const attributes = cookie!.attributes;
    expect(attributes).toHaveProperty('httponly');
    expect(attributes).toHaveProperty('secure');
    expect(attributes.samesite?.toLowerCase()).toBe('lax');
    expect(attributes.path).toBe('/');

    const session = await sessionOf(world, browser);
    expect(session.status).toBe(200);
    const body = (await session.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['displayName', 'email', 'environment', 'expiresAt', 'userId']);
    expect(body).toMatchObject({
      userId: await userIdOf(ada.id),
      displayName: 'Ada Reset',
      email: ada.mail,
      environment: env,
    });
    const end = Date.parse(String(body.expiresAt));
    expect(end - Date.now()).toBeLessThanOrEqual(8 * 3600 * 1000);
    expect(end - Date.now()).toBeGreaterThan(8 * 3600 * 1000 - 60_000);
    const lifetime =
      attributes['max-age'] !== undefined
        ? Date.now() + Number(attributes['max-age']) * 1000
        : Date.parse(attributes.expires ?? '');
    expect(lifetime).toBeLessThanOrEqual(end + 1000);

    const stolen = browser.clone();
    const logout = await browser.fetch(`${host.url}/api/auth/logout`, { method: 'POST' });
    expect(logout.status).toBe(204);
    expect((await sessionOf(world, browser)).status).toBe(401);
    expect((await sessionOf(world, stolen)).status).toBe(401);
    // Logging out without a session is still a 204.
    expect((await new Browser().fetch(`${host.url}/api/auth/logout`, { method: 'POST' })).status).toBe(204);
  });

  it('the user is found by (tid, oid), never by email: a namesake with the same address gets no session', async () => {
    const namesake = await directory.addUser({ displayName: 'Ada Namesake', mail: ada.mail! });
    const browser = new Browser();
    const callback = await signIn(world, browser, namesake);
    expect(callback.status).toBeGreaterThanOrEqual(400);
    expect(callback.status).toBeLessThan(500);
    expect(callback.headers.get('location')).toBeNull();
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
    expect((await sessionOf(world, browser)).status).toBe(401);
  });

  it('a user of another environment gets no session here', async () => {
    const browser = new Browser();
    const callback = await signIn(world, browser, carol);
    expect(callback.status).toBeGreaterThanOrEqual(400);
    expect(callback.status).toBeLessThan(500);
    expect(callback.headers.get('location')).toBeNull();
    expect((await sessionOf(world, browser)).status).toBe(401);
  });
});

describe('§3.6 password reset', () => {
  it('202 for everyone; exactly one mail from MAIL_FROM to an active user (address compared case-insensitively), none otherwise', async () => {
    const requests = [
      { email: ada.mail!.toLowerCase(), environment: env },
      { email: `nobody.${run}@contoso.test`, environment: env },
      { email: carol.mail!, environment: env },
      { email: ada.mail!, environment: `absent-${run}` },
      // A string no environment id can be is still of the shape: an unknown environment.
      { email: ada.mail!, environment: 'a.b' },
      { email: ada.mail!, environment: `${env}.` },
    ];
    const answers = [];
    for (const body of requests) answers.push(await api('POST', 'password-reset', { body }));
    for (const answer of answers) {
      expect(answer.status).toBe(202);
      expect(answer.text).toBe(answers[0]!.text);
    }
    const [mail] = await waitForMail(ada.mail!, 1, 15_000);
    expect(mail!.from).toContain(`contract-${run}@bizzstream.test`);
    expect(mail!.text).toContain('Microsoft Entra ID (Azure AD)');
    expect(`${mail!.text}${mail!.html ?? ''}`).not.toMatch(/https?:\/\//);
    // Let the queue settle: no second mail for Ada, none for the others.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await mailMessages({ to: ada.mail! })).toHaveLength(1);
    expect(await mailMessages({ to: `nobody.${run}@contoso.test` })).toHaveLength(0);
    expect(await mailMessages({ to: carol.mail! })).toHaveLength(0);
  });

  it('no mail once the sync has deactivated the access; the answer is still 202', async () => {
    await directory.removeMembers(group, [bob.id]);
    expect(await sync(env)).toMatchObject({ status: 'succeeded', counts: { deactivated: 1 } });
    const answer = await api('POST', 'password-reset', { body: { email: bob.mail!, environment: env } });
    expect(answer.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await mailMessages({ to: bob.mail! })).toHaveLength(0);
    // Nor may the deactivated user sign in.
    const browser = new Browser();
    const callback = await signIn(world, browser, bob);
    expect(callback.status).toBeGreaterThanOrEqual(400);
    expect(callback.status).toBeLessThan(500);
    expect((await sessionOf(world, browser)).status).toBe(401);
  });

  it('400 problem+json only for a body not of the shape { email, environment }', async () => {
    const bodies: unknown[] = [
      {},
      { email: ada.mail },
      { environment: env },
      { email: 42, environment: env },
      { email: ada.mail, environment: ['x'] },
      [ada.mail, env],
      'text',
    ];
    for (const body of bodies) {
      expectProblem(await api('POST', 'password-reset', { body }), 400, '/problems/validation');
    }
    expectProblem(await api('POST', 'password-reset', { raw: '{"email":' }), 400, '/problems/validation');
  });
});

describe('§4 the session dies with the access', () => {
  it('a session is refused once a sync deactivates the access', async () => {
    const dana = await directory.addUser({ displayName: 'Dana Session', mail: `dana.${run}@contoso.test` });
    await directory.addMembers(group, [dana.id]);
    expect(await sync(env)).toMatchObject({ status: 'succeeded', counts: { added: 1 } });
    const browser = new Browser();
    expect((await signIn(world, browser, dana)).status).toBe(302);
    expect((await sessionOf(world, browser)).status).toBe(200);
    await directory.removeMembers(group, [dana.id]);
    expect(await sync(env)).toMatchObject({ status: 'succeeded', counts: { deactivated: 1 } });
    expect((await sessionOf(world, browser)).status).toBe(401);
  });
});

describe('§4 the session dies with the access, even if the access comes back', () => {
  // Revocation at deactivation, not only the check on use: the access is active again when the
  // old cookie comes back, so only a revoked session explains a 401.
  it('a session idle while its access was deactivated and then reactivated is dead', async () => {
    const erin = await directory.addUser({ displayName: 'Erin Session', mail: `erin.${run}@contoso.test` });
    await directory.addMembers(group, [erin.id]);
    expect(await sync(env)).toMatchObject({ status: 'succeeded', counts: { added: 1 } });
    const browser = new Browser();
    expect((await signIn(world, browser, erin)).status).toBe(302);
    expect((await sessionOf(world, browser)).status).toBe(200);

    await directory.removeMembers(group, [erin.id]);
    expect(await sync(env)).toMatchObject({ status: 'succeeded', counts: { deactivated: 1 } });
    await directory.addMembers(group, [erin.id]);
    expect(await sync(env)).toMatchObject({ status: 'succeeded', counts: { reactivated: 1 } });
    expect((await sessionOf(world, browser)).status).toBe(401);
  });
});
