import { afterAll, beforeAll } from 'vitest';
import type { LocalHost } from '../../scripts/local-host/local-host.js';
import { startTestHost } from '../support/host.js';
import { uid, uniqueId } from '../support/ids.js';
import { saveConfiguredEnvironment, testRepositories } from '../support/storage.js';
import { seedEnvironmentUser } from '../support/users.js';
import {
  createTestDirectory,
  signInWithPage,
  type SignInResult,
  type TestDirectory,
  type UserInfo,
} from '../support/dev-directory.js';

/**
 * Sign-in end to end: the local host serving every function, one dev directory with an app whose
 * redirect URI is this host's callback, one environment using it, and a cookie-jar browser.
 */

export interface SetCookie {
  readonly name: string;
  readonly value: string;
  /** Attribute names lower-cased; flag attributes map to ''. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly raw: string;
}

export function parseSetCookie(raw: string): SetCookie {
  const [pair = '', ...rest] = raw.split(';');
  const eq = pair.indexOf('=');
  const attributes: Record<string, string> = {};
  for (const part of rest) {
    const [name = '', ...value] = part.trim().split('=');
    attributes[name.toLowerCase()] = value.join('=');
  }
  return {
    name: pair.slice(0, eq).trim(),
    value: decodeURIComponent(pair.slice(eq + 1).trim()),
    attributes,
    raw,
  };
}

/** A browser's cookie handling, reduced to what these tests need (one origin, no paths). */
export class Browser {
  readonly cookies = new Map<string, string>();
  lastSetCookies: SetCookie[] = [];

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set(
        'cookie',
        [...this.cookies].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('; '),
      );
    }
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.lastSetCookies = response.headers.getSetCookie().map(parseSetCookie);
    for (const cookie of this.lastSetCookies) {
      const maxAge = cookie.attributes['max-age'];
      if (cookie.value === '' || (maxAge !== undefined && Number(maxAge) <= 0))
        this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    return response;
  }

  clone(): Browser {
    const copy = new Browser();
    for (const [name, value] of this.cookies) copy.cookies.set(name, value);
    return copy;
  }
}

export interface SigninWorld {
  readonly host: LocalHost;
  readonly directory: TestDirectory;
  readonly environmentId: string;
  readonly tenantName: string;
  readonly callbackUrl: string;
  /** The host's log lines, oldest first. */
  readonly logs: string[];
  stop(): Promise<void>;
}

export async function startSigninWorld(): Promise<SigninWorld> {
  const logs: string[] = [];
  const host = await startTestHost({ publicBaseUrl: true, log: (line) => logs.push(line) });
  const callbackUrl = `${host.url}/api/auth/callback`;
  const directory = await createTestDirectory({ applications: [{ redirectUris: [callbackUrl] }] });
  const environmentId = uniqueId('signin');
  const tenantName = uniqueId('signin');
  await testRepositories().tenants.save({
    ...directory.tenantConnection(tenantName, [environmentId]),
    owner: 'signin-tests',
  });
  await saveConfiguredEnvironment({ id: environmentId, name: 'Sign-in tests', tenant: tenantName });
  return { host, directory, environmentId, tenantName, callbackUrl, logs, stop: () => host.stop() };
}

/**
 * The sign-in world of one test file: started before its tests (then `prepare` runs on it) and
 * stopped after them. A getter, because the world exists only once `beforeAll` has run.
 */
export function useSigninWorld(prepare?: (world: SigninWorld) => Promise<void>): () => SigninWorld {
  let started: SigninWorld | undefined;
  beforeAll(async () => {
    started = await startSigninWorld();
    await prepare?.(started);
  });
  afterAll(async () => {
    await started?.stop();
  });
  return () => {
    if (started === undefined) throw new Error('the sign-in world starts in beforeAll');
    return started;
  };
}

let userCounter = 0;

/** A directory user; `synced` also stores it as the sync would, with access `active` or not. */
export async function addPerson(
  world: SigninWorld,
  options: { synced?: boolean; active?: boolean; accountEnabled?: boolean } = {},
): Promise<UserInfo> {
  userCounter++;
  const displayName = `Person ${userCounter} ${uid().slice(0, 4)}`;
  const user = await world.directory.addUser({
    displayName,
    mail: `person${userCounter}.${uid()}@example.com`,
    accountEnabled: options.accountEnabled ?? true,
  });
  if (options.synced ?? true) {
    await seedEnvironmentUser({
      environmentId: world.environmentId,
      directoryId: world.directory.id,
      objectId: user.id,
      displayName: user.displayName,
      email: user.mail ?? user.userPrincipalName,
      active: options.active ?? true,
    });
  }
  return user;
}

export interface LoginStarted {
  readonly response: Response;
  readonly authorizeUrl: URL;
}

export async function startLogin(
  world: SigninWorld,
  browser: Browser,
  query: Record<string, string> = {},
): Promise<LoginStarted> {
  const url = new URL(`${world.host.url}/api/auth/login`);
  url.searchParams.set('environment', world.environmentId);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  const response = await browser.fetch(url.toString());
  if (response.status !== 302) {
    throw new Error(`login answered ${response.status}: ${await response.text()}`);
  }
  return { response, authorizeUrl: new URL(response.headers.get('location') ?? '') };
}

/** Login, then the directory's sign-in page; returns where the directory sends the browser back. */
export async function authorize(
  world: SigninWorld,
  browser: Browser,
  user: UserInfo,
  query: Record<string, string> = {},
): Promise<Extract<SignInResult, { kind: 'redirect' }>> {
  const { authorizeUrl } = await startLogin(world, browser, query);
  const result = await signInWithPage(authorizeUrl.toString(), {
    username: user.userPrincipalName,
    password: user.password,
  });
  if (result.kind !== 'redirect') throw new Error(`the directory did not redirect back: ${result.kind}`);
  return result;
}

/** The whole flow; returns the callback's response. */
export async function signIn(
  world: SigninWorld,
  browser: Browser,
  user: UserInfo,
  query: Record<string, string> = {},
): Promise<Response> {
  const result = await authorize(world, browser, user, query);
  return browser.fetch(result.location);
}

export async function sessionOf(world: SigninWorld, browser: Browser): Promise<Response> {
  return browser.fetch(`${world.host.url}/api/auth/session`, { headers: { accept: 'application/json' } });
}

/** Reason codes of the sign-in refusals logged from log line `from` on. */
export function refusalReasons(world: SigninWorld, from = 0): string[] {
  return world.logs
    .slice(from)
    .map((line) => /sign-in (?:refused|failed) .*reason: '([a-z-]+)'/.exec(line)?.[1])
    .filter((reason): reason is string => reason !== undefined);
}
