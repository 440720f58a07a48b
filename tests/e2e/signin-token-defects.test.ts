import { describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../shared/auth/signin-http.js';
import type { IdTokenDefect } from '../support/dev-directory.js';
import { addPerson, Browser, refusalReasons, sessionOf, signIn, useSigninWorld } from './signin-support.js';

// One good sign-in first, so the app holds the directory's key set before any defect.
const world = useSigninWorld(async (started) => {
  expect((await signIn(started, new Browser(), await addPerson(started))).status).toBe(302);
});

const DEFECTS: ReadonlyArray<readonly [IdTokenDefect, string]> = [
  ['bad-signature', 'id-token-signature'],
  ['alg-none', 'id-token-algorithm'],
  ['hs256-public-key', 'id-token-algorithm'],
  ['unknown-kid', 'id-token-unknown-key'],
  ['wrong-aud', 'id-token-audience'],
  ['wrong-iss', 'id-token-issuer'],
  ['wrong-tid', 'id-token-tenant'],
  ['expired', 'id-token-expired'],
  ['iat-future', 'id-token-issued-in-future'],
  ['nonce-mismatch', 'id-token-nonce-mismatch'],
  ['missing-nonce', 'id-token-nonce-missing'],
];

describe('ID token defects: no session', () => {
  it.each(DEFECTS)('%s is refused (%s)', async (defect, reason) => {
    const user = await addPerson(world());
    await world().directory.setIdTokenDefect(defect);
    const browser = new Browser();
    const mark = world().logs.length;
    const response = await signIn(world(), browser, user);
    expect(refusalReasons(world(), mark)).toEqual([reason]);
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(browser.cookies.has(SESSION_COOKIE)).toBe(false);
    expect((await sessionOf(world(), browser)).status).toBe(401);
    // The same person signs in fine with a sound token: the refusal was the defect's doing.
    const retry = new Browser();
    expect((await signIn(world(), retry, user)).status).toBe(302);
  });

  it('an unknown kid makes the app read the key set once more, not more', async () => {
    const user = await addPerson(world());
    await world().directory.setIdTokenDefect('unknown-kid');
    await world().directory.resetRequestLog();
    await signIn(world(), new Browser(), user);
    expect(await world().directory.requestLog('keys')).toHaveLength(1);
  });
});

describe('key rotation', () => {
  it('a token signed with a new key still signs in, and the key set is read again', async () => {
    const user = await addPerson(world());
    const { kid } = await world().directory.rotateKeys();
    await world().directory.resetRequestLog();
    const browser = new Browser();
    const response = await signIn(world(), browser, user);
    expect(response.status).toBe(302);
    expect((await sessionOf(world(), browser)).status).toBe(200);
    expect(kid).toEqual(expect.any(String));
    expect(await world().directory.requestLog('keys')).toHaveLength(1);
    // Cached afterwards.
    await world().directory.resetRequestLog();
    expect((await signIn(world(), new Browser(), user)).status).toBe(302);
    expect(await world().directory.requestLog('keys')).toHaveLength(0);
  });
});
