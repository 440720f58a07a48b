import { CryptoProvider, ConfidentialClientApplication } from '@azure/msal-node';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ID_TOKEN_DEFECTS,
  createTestDirectory,
  signInWithPage,
  type IdTokenDefect,
  type TestDirectory,
  type UserInfo,
} from '../support/dev-directory.js';

const REDIRECT_URI = 'http://localhost:7071/api/auth/callback';

function msalFor(
  directory: TestDirectory,
  secret = directory.app.clientSecret,
): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: directory.app.clientId,
      clientSecret: secret,
      authority: `${directory.authorityHost}/${directory.id}`,
      knownAuthorities: [new URL(directory.authorityHost).host],
    },
  });
}

interface Started {
  readonly url: string;
  readonly verifier: string;
  readonly nonce: string;
  readonly state: string;
}

async function startSignIn(msal: ConfidentialClientApplication): Promise<Started> {
  const crypto = new CryptoProvider();
  const { verifier, challenge } = await crypto.generatePkceCodes();
  const nonce = crypto.createNewGuid();
  const state = crypto.createNewGuid();
  const url = await msal.getAuthCodeUrl({
    scopes: ['openid', 'profile', 'email'],
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    nonce,
    state,
    responseMode: 'query',
  });
  return { url, verifier, nonce, state };
}

async function tokenRequest(
  directory: TestDirectory,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${directory.authorityHost}/${directory.id}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('sign-in: authorization code with PKCE through the sign-in page', () => {
  let directory: TestDirectory;
  let alice: UserInfo;

  beforeAll(async () => {
    directory = await createTestDirectory({ displayName: 'Sign-in test', domain: 'signin.example' });
    alice = await directory.addUser({
      displayName: 'Alice Example',
      mail: 'alice@signin.example',
      password: 'Correct-Horse-1',
    });
  });

  it('signs in like a browser and msal-node redeems the code with PKCE and nonce; the ID token is a verifiable Entra v2 token', async () => {
    const msal = msalFor(directory);
    const started = await startSignIn(msal);
    const result = await signInWithPage(started.url, {
      username: 'alice@signin.example',
      password: 'Correct-Horse-1',
    });
    expect(result.kind).toBe('redirect');
    if (result.kind !== 'redirect') return;
    expect(result.location.startsWith(`${REDIRECT_URI}?`)).toBe(true);
    expect(result.state).toBe(started.state);
    expect(result.code).toBeDefined();

    const tokens = await msal.acquireTokenByCode({
      code: result.code ?? '',
      redirectUri: REDIRECT_URI,
      scopes: ['openid', 'profile', 'email'],
      codeVerifier: started.verifier,
      nonce: started.nonce,
      state: started.state,
    });
    expect(tokens.idToken).toBeTruthy();
    const jwks = createRemoteJWKSet(
      new URL(`${directory.authorityHost}/${directory.id}/discovery/v2.0/keys`),
    );
    const { payload, protectedHeader } = await jwtVerify(tokens.idToken, jwks, {
      issuer: directory.issuer,
      audience: directory.app.clientId,
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(protectedHeader.kid).toBeTruthy();
    expect(payload).toMatchObject({
      tid: directory.id,
      oid: alice.id,
      name: 'Alice Example',
      preferred_username: alice.userPrincipalName,
      email: 'alice@signin.example',
      nonce: started.nonce,
      ver: '2.0',
    });
    expect(typeof payload.sub).toBe('string');
    expect(payload.nbf).toBeLessThanOrEqual(payload.exp ?? 0);
  });

  async function codeFor(
    username: string,
    password: string,
    msal = msalFor(directory),
  ): Promise<Started & { code: string }> {
    const started = await startSignIn(msal);
    const result = await signInWithPage(started.url, { username, password });
    if (result.kind !== 'redirect' || result.code === undefined)
      throw new Error(`no code: ${JSON.stringify(result)}`);
    return { ...started, code: result.code };
  }

  function redeem(started: Started & { code: string }, overrides: Record<string, string> = {}) {
    return tokenRequest(directory, {
      grant_type: 'authorization_code',
      client_id: directory.app.clientId,
      client_secret: directory.app.clientSecret,
      code: started.code,
      redirect_uri: REDIRECT_URI,
      code_verifier: started.verifier,
      scope: 'openid profile email',
      ...overrides,
    });
  }

  function expectEntraError(
    answer: { status: number; body: Record<string, unknown> },
    status: number,
    error: string,
    code: number,
  ): void {
    expect(answer.status).toBe(status);
    expect(answer.body.error).toBe(error);
    expect(answer.body.error_codes).toEqual([code]);
    expect(String(answer.body.error_description)).toMatch(new RegExp(`^AADSTS${code}: `));
    expect(answer.body.trace_id).toBeTruthy();
    expect(answer.body.correlation_id).toBeTruthy();
  }

  it('shows the page again on a wrong password (AADSTS50126), refuses a disabled account (AADSTS50057) and an unknown user', async () => {
    const { url } = await startSignIn(msalFor(directory));
    const wrong = await signInWithPage(url, { username: 'alice@signin.example', password: 'nope' });
    expect(wrong).toMatchObject({ kind: 'sign-in-error', errorCode: 'AADSTS50126' });
    if (wrong.kind === 'sign-in-error') expect(wrong.message).toMatch(/password is incorrect/);

    const bob = await directory.addUser({ displayName: 'Bob Disabled', accountEnabled: false });
    const disabled = await signInWithPage((await startSignIn(msalFor(directory))).url, {
      username: bob.userPrincipalName,
      password: bob.password,
    });
    expect(disabled).toMatchObject({ kind: 'sign-in-error', errorCode: 'AADSTS50057' });

    const unknown = await signInWithPage((await startSignIn(msalFor(directory))).url, {
      username: 'nobody@signin.example',
      password: 'x',
    });
    expect(unknown).toMatchObject({ kind: 'sign-in-error', errorCode: 'AADSTS50034' });
  });

  it('refuses an unregistered redirect_uri on an error page, without redirecting (AADSTS50011)', async () => {
    const result = await directory.signInAt(
      {
        redirect_uri: 'http://localhost:7071/elsewhere',
        scope: 'openid',
        state: 's',
      },
      {
        username: 'alice@signin.example',
        password: 'Correct-Horse-1',
      },
    );
    expect(result).toMatchObject({ kind: 'error-page', status: 400, errorCode: 'AADSTS50011' });
  });

  it('answers prompt=none with login_required at the redirect URI (no sign-in session is kept)', async () => {
    const url = directory.authorizeUrl({
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      state: 'silent',
      prompt: 'none',
    });
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('login_required');
    expect(location.searchParams.get('state')).toBe('silent');
    expect(location.searchParams.get('error_description')).toMatch(/^AADSTS50058: /);
  });

  it('answers form_post with the auto-submitting form', async () => {
    const result = await directory.signInAt(
      {
        redirect_uri: REDIRECT_URI,
        scope: 'openid profile',
        state: 'st-1',
        nonce: 'n-1',
        response_mode: 'form_post',
      },
      {
        username: 'alice@signin.example',
        password: 'Correct-Horse-1',
      },
    );
    expect(result.kind).toBe('form_post');
    if (result.kind !== 'form_post') return;
    expect(result.action).toBe(REDIRECT_URI);
    expect(result.fields.state).toBe('st-1');
    expect(result.fields.code).toBeTruthy();
  });

  it('redeems a code once: a reused code is invalid_grant AADSTS54005', async () => {
    const started = await codeFor('alice@signin.example', 'Correct-Horse-1');
    const first = await redeem(started);
    expect(first.status).toBe(200);
    expect(first.body.id_token).toBeTruthy();
    expectEntraError(await redeem(started), 400, 'invalid_grant', 54005);
  });

  it('checks the code_verifier (AADSTS501481), the redirect_uri (invalid_grant) and the client secret (invalid_client AADSTS7000215)', async () => {
    const started = await codeFor('alice@signin.example', 'Correct-Horse-1');
    expectEntraError(await redeem(started, { code_verifier: 'x'.repeat(43) }), 400, 'invalid_grant', 501481);
    expectEntraError(
      await redeem(started, { redirect_uri: 'http://localhost:7071/api/auth/other' }),
      400,
      'invalid_grant',
      50011,
    );
    expectEntraError(await redeem(started, { client_secret: 'wrong' }), 401, 'invalid_client', 7000215);
    // None of the failures consumed the code.
    expect((await redeem(started)).status).toBe(200);

    const msal = msalFor(directory, 'wrong-secret');
    await expect(
      msal.acquireTokenByCode({
        code: started.code,
        redirectUri: REDIRECT_URI,
        scopes: ['openid'],
        codeVerifier: started.verifier,
      }),
    ).rejects.toMatchObject({ errorCode: 'invalid_client' });
    await expect(
      msal.acquireTokenByClientCredential({ scopes: [`${directory.graphBaseUrl}/.default`] }),
    ).rejects.toMatchObject({ errorCode: 'invalid_client', subError: '' });
  });

  it('spoils exactly the next ID token with each defect, and only that one', async () => {
    const jwks = createRemoteJWKSet(
      new URL(`${directory.authorityHost}/${directory.id}/discovery/v2.0/keys`),
    );
    const published = (await (
      await fetch(`${directory.authorityHost}/${directory.id}/discovery/v2.0/keys`)
    ).json()) as {
      keys: { kid: string }[];
    };
    const now = Math.floor(Date.now() / 1000);
    const expectations: Record<IdTokenDefect, (token: string, nonce: string) => Promise<void> | void> = {
      'bad-signature': async (token) => {
        await expect(jwtVerify(token, jwks)).rejects.toMatchObject({
          code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        });
      },
      'alg-none': (token) => {
        expect(decodeProtectedHeader(token).alg).toBe('none');
        expect(token.endsWith('.')).toBe(true);
      },
      'hs256-public-key': async (token) => {
        expect(decodeProtectedHeader(token).alg).toBe('HS256');
        await expect(jwtVerify(token, jwks)).rejects.toThrow();
      },
      'unknown-kid': (token) => {
        const kid = decodeProtectedHeader(token).kid;
        expect(published.keys.map((k) => k.kid)).not.toContain(kid);
      },
      'wrong-aud': async (token) => {
        expect(decodeJwt(token).aud).not.toBe(directory.app.clientId);
        await jwtVerify(token, jwks, { issuer: directory.issuer });
      },
      'wrong-iss': (token) => {
        expect(decodeJwt(token).iss).not.toBe(directory.issuer);
      },
      'wrong-tid': (token) => {
        const claims = decodeJwt(token);
        expect(claims.iss).toBe(directory.issuer);
        expect(claims.tid).not.toBe(directory.id);
      },
      expired: (token) => {
        expect(decodeJwt(token).exp ?? 0).toBeLessThan(now - 300);
      },
      'iat-future': (token) => {
        expect(decodeJwt(token).iat ?? 0).toBeGreaterThan(now + 300);
      },
      'nonce-mismatch': (token, nonce) => {
        const claims = decodeJwt(token);
        expect(claims.nonce).toBeTruthy();
        expect(claims.nonce).not.toBe(nonce);
      },
      'missing-nonce': (token) => {
        expect(decodeJwt(token).nonce).toBeUndefined();
      },
    };
    for (const defect of ID_TOKEN_DEFECTS) {
      await directory.setIdTokenDefect(defect);
      const started = await codeFor('alice@signin.example', 'Correct-Horse-1');
      const answer = await redeem(started);
      expect(answer.status).toBe(200);
      await expectations[defect](String(answer.body.id_token), started.nonce);
    }
    const clean = await codeFor('alice@signin.example', 'Correct-Horse-1');
    const token = String((await redeem(clean)).body.id_token);
    const { payload } = await jwtVerify(token, jwks, {
      issuer: directory.issuer,
      audience: directory.app.clientId,
    });
    expect(payload.nonce).toBe(clean.nonce);
  });

  it('rotates keys: the new kid signs, both keys stay published', async () => {
    const keysUrl = `${directory.authorityHost}/${directory.id}/discovery/v2.0/keys`;
    const before = (await (await fetch(keysUrl)).json()) as { keys: { kid: string }[] };
    const { kid } = await directory.rotateKeys();
    const after = (await (await fetch(keysUrl)).json()) as { keys: { kid: string }[] };
    expect(after.keys.map((k) => k.kid)).toEqual([kid, before.keys[0]?.kid]);
    const started = await codeFor('alice@signin.example', 'Correct-Horse-1');
    const token = String((await redeem(started)).body.id_token);
    expect(decodeProtectedHeader(token).kid).toBe(kid);
  });
});
