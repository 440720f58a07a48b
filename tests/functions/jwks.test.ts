import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import azureFunctions from '@azure/functions';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManagementAuth, type ManagementAuth } from '../../shared/auth/management.js';
import { systemClock } from '../../shared/clock.js';
import { isAppError } from '../../shared/errors.js';

const { HttpRequest } = azureFunctions;

/**
 * The remote key set: fetched once and cached, fetched again when a token names a key it has not
 * seen (the issuer rotated its keys). A plain-HTTP stand-in for the issuer keeps this test local;
 * the integration tests use the dev directory's HTTPS JWKS.
 */
let server: Server;
let published: JWK[] = [];
let fetches = 0;
let management: ManagementAuth;
const authenticate: ManagementAuth['authenticate'] = (request) => management.authenticate(request);
const ISSUER = 'https://issuer.test/management';
const AUDIENCE = 'api://bizzstream-external-users';

async function signer(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const sign = () =>
    new SignJWT({ roles: ['partner'] })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setSubject('s')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(privateKey);
  return { jwk, sign };
}

const request = (token: string) =>
  new HttpRequest({
    method: 'GET',
    url: 'http://localhost/api/tenants',
    headers: { authorization: `Bearer ${token}` },
  });

beforeAll(async () => {
  server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  management = createManagementAuth({
    settings: { issuer: ISSUER, audience: AUDIENCE, jwksUri: `http://127.0.0.1:${port}/keys` },
    clock: systemClock,
    refetchCooldownMs: 0,
  });
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('remote JWKS', () => {
  it('caches the key set and refetches it for an unknown kid', async () => {
    const first = await signer('k1');
    published = [first.jwk];
    await authenticate(request(await first.sign()));
    await authenticate(request(await first.sign()));
    expect(fetches).toBe(1);

    const rotated = await signer('k2');
    published = [rotated.jwk];
    expect((await authenticate(request(await rotated.sign()))).sub).toBe('s');
    expect(fetches).toBe(2);

    const unknown = await signer('k3');
    const refused = await authenticate(request(await unknown.sign())).catch((error: unknown) => error);
    expect(isAppError(refused, 'unauthorized')).toBe(true);
  });
});
