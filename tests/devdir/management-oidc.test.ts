import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { devDirectoryAdmin, devDirectoryOrigin } from '../support/dev-directory.js';

/** The dev directory as the staff identity provider: discovery, the pick-who-to-be page, PKCE. */
const CLIENT_ID = `console-test-${randomBytes(4).toString('hex')}`;
const REDIRECT_URI = 'http://localhost:7999/console/';
const SCOPE = 'openid profile api://bizzstream-external-users/manage';

const issuer = () => `${devDirectoryOrigin()}/management`;

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(params: Record<string, string>): string {
  const url = new URL(`${issuer()}/authorize`);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}

/** Opens the page and submits it as `role`; answers the redirect's query. */
async function pickRole(challenge: string, form: Record<string, string>): Promise<URLSearchParams> {
  const page = await fetch(
    authorizeUrl({
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: SCOPE,
      state: 'st',
      nonce: 'n1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }),
  );
  expect(page.status).toBe(200);
  const login = /name="login" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const posted = await fetch(`${issuer()}/authorize`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ login, ...form }),
  });
  expect(posted.status).toBe(302);
  const location = new URL(posted.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
  return location.searchParams;
}

function redeem(code: string, verifier: string, origin = 'http://localhost:7999'): Promise<Response> {
  return fetch(`${issuer()}/token`, {
    method: 'POST',
    headers: { origin },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    }),
  });
}

beforeAll(async () => {
  await devDirectoryAdmin().registerManagementClient({ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI] });
});

describe('management identity provider', () => {
  it('publishes discovery for code + PKCE, readable from any origin', async () => {
    const answer = await fetch(`${issuer()}/.well-known/openid-configuration`);
    expect(answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(await answer.json()).toMatchObject({
      issuer: issuer(),
      authorization_endpoint: `${issuer()}/authorize`,
      token_endpoint: `${issuer()}/token`,
      jwks_uri: `${issuer()}/keys`,
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
    });
  });

  it('refuses an unknown client and an unregistered redirect URI on its page, and PKCE-less requests by redirect', async () => {
    const unknown = await fetch(authorizeUrl({ client_id: 'nobody', redirect_uri: REDIRECT_URI }));
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('AADSTS700016');
    const elsewhere = await fetch(
      authorizeUrl({ client_id: CLIENT_ID, redirect_uri: 'http://localhost:1/console/' }),
    );
    expect(elsewhere.status).toBe(400);
    expect(await elsewhere.text()).toContain('AADSTS50011');
    const plain = await fetch(
      authorizeUrl({
        client_id: CLIENT_ID,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        scope: SCOPE,
        state: 's',
      }),
      { redirect: 'manual' },
    );
    expect(plain.status).toBe(302);
    expect(new URL(plain.headers.get('location') ?? '').searchParams.get('error')).toBe('invalid_request');
  });

  it('issues a management token for the role picked, once, to the verifier only', async () => {
    const { verifier, challenge } = pkce();
    const query = await pickRole(challenge, { role: 'environment-admin', sub: 'eve', environments: 'a, b' });
    expect(query.get('state')).toBe('st');
    expect(query.get('iss')).toBe(issuer());
    const code = query.get('code') ?? '';

    const wrong = await redeem(code, pkce().verifier);
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
    // A failed redemption spends the code too.
    expect((await redeem(code, verifier)).status).toBe(400);

    const second = pkce();
    const again = await pickRole(second.challenge, {
      role: 'environment-admin',
      sub: 'eve',
      environments: 'a, b',
    });
    const answer = await redeem(again.get('code') ?? '', second.verifier);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBe('http://localhost:7999');
    const tokens = (await answer.json()) as { access_token: string; id_token: string; token_type: string };
    expect(tokens.token_type).toBe('Bearer');
    const keys = createRemoteJWKSet(new URL(`${issuer()}/keys`));
    const { payload } = await jwtVerify(tokens.access_token, keys, {
      issuer: issuer(),
      audience: 'api://bizzstream-external-users',
    });
    expect(payload).toMatchObject({ sub: 'eve', roles: ['environment-admin'], environments: ['a', 'b'] });
    const id = await jwtVerify(tokens.id_token, keys, { issuer: issuer(), audience: CLIENT_ID });
    expect(id.payload).toMatchObject({ sub: 'eve', nonce: 'n1' });
    expect((await redeem(again.get('code') ?? '', second.verifier)).status).toBe(400);
  });

  it('answers other origins without CORS, and an environment admin without environments is asked again', async () => {
    const { verifier, challenge } = pkce();
    const query = await pickRole(challenge, { role: 'partner', sub: '' });
    const answer = await redeem(query.get('code') ?? '', verifier, 'https://evil.example');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();

    const page = await fetch(
      authorizeUrl({
        client_id: CLIENT_ID,
        redirect_uri: REDIRECT_URI,
        response_type: 'code',
        scope: SCOPE,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
    );
    const login = /name="login" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const refused = await fetch(`${issuer()}/authorize`, {
      method: 'POST',
      body: new URLSearchParams({ login, role: 'environment-admin', environments: ' ' }),
    });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('needs at least one environment');
  });
});
