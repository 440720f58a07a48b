import type { Services } from '../../shared/app/services.js';
import azureFunctions from '@azure/functions';
import { base64url, SignJWT } from 'jose';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../shared/errors.js';
import { testServices, useTestEnvironment } from '../support/storage.js';
import { useManagementKeys, type ManagementKeys } from './handler-support.js';

const { HttpRequest } = azureFunctions;

let keys: ManagementKeys;

beforeAll(async () => {
  useTestEnvironment();
  keys = await useManagementKeys();
});
beforeEach(() => {
  useTestEnvironment();
});

const authenticate: Services['management']['authenticate'] = (request) =>
  testServices().management.authenticate(request);
const authorizeEnvironment: Services['management']['authorizeEnvironment'] = (request, environmentId) =>
  testServices().management.authorizeEnvironment(request, environmentId);

function requestWith(authorization?: string) {
  return new HttpRequest({
    method: 'GET',
    url: 'http://localhost/api/tenants',
    headers: authorization === undefined ? {} : { authorization },
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (isAppError(error)) return error.code;
    throw error;
  }
}

describe('authenticate', () => {
  it('accepts ES256 and RS256 tokens and reads sub, roles and environments', async () => {
    const principal = await authenticate(
      requestWith(
        `Bearer ${await keys.token({ sub: 'u1', roles: ['environment-admin', 'bogus'], environments: ['e1'] })}`,
      ),
    );
    expect(principal).toEqual({ sub: 'u1', roles: ['environment-admin'], environments: ['e1'] });
    const rs = await authenticate(
      requestWith(`Bearer ${await keys.token({ alg: 'RS256', roles: ['partner'] })}`),
    );
    expect(rs.roles).toEqual(['partner']);
  });

  it('tolerates an issuer clock running a little ahead (nbf), never an expired token', async () => {
    const early = await keys.token({ notBeforeSeconds: 20 });
    expect(await codeOf(authenticate(requestWith(`Bearer ${early}`)))).toBe('ok');
    const justExpired = await keys.token({ expiresInSeconds: -2 });
    expect(await codeOf(authenticate(requestWith(`Bearer ${justExpired}`)))).toBe('unauthorized');
  });

  it.each<[string, () => Promise<string | undefined>]>([
    ['no header', () => Promise.resolve(undefined)],
    ['not bearer', () => Promise.resolve('Basic dXNlcjpwYXNz')],
    ['garbage', () => Promise.resolve('Bearer not.a.jwt')],
    ['expired', async () => `Bearer ${await keys.token({ expiresInSeconds: -600 })}`],
    ['not yet valid', async () => `Bearer ${await keys.token({ notBeforeSeconds: 600 })}`],
    ['wrong issuer', async () => `Bearer ${await keys.token({ iss: 'https://evil.example/management' })}`],
    ['wrong audience', async () => `Bearer ${await keys.token({ aud: 'api://something-else' })}`],
    ['no subject', async () => `Bearer ${await keys.token({ sub: '' })}`],
    ['signed by an unknown key', async () => `Bearer ${await keys.foreignToken()}`],
    [
      'alg none',
      () => {
        const { issuer, audience } = testServices().config.management;
        const now = Math.floor(Date.now() / 1000);
        const header = base64url.encode(JSON.stringify({ alg: 'none', kid: 'es-1' }));
        const payload = base64url.encode(
          JSON.stringify({
            sub: 'x',
            roles: ['platform-operator'],
            iss: issuer,
            aud: audience,
            exp: now + 600,
          }),
        );
        return Promise.resolve(`Bearer ${header}.${payload}.`);
      },
    ],
    [
      'HS256 with the public key as secret',
      async () => {
        const { issuer, audience } = testServices().config.management;
        const secret = new TextEncoder().encode(JSON.stringify(keys.jwks.keys[0]));
        const token = await new SignJWT({ roles: ['platform-operator'] })
          .setProtectedHeader({ alg: 'HS256', kid: 'es-1' })
          .setSubject('x')
          .setIssuer(issuer)
          .setAudience(audience)
          .setExpirationTime('10m')
          .sign(secret);
        return `Bearer ${token}`;
      },
    ],
  ])('refuses %s with unauthorized', async (_label, header) => {
    expect(await codeOf(authenticate(requestWith(await header())))).toBe('unauthorized');
  });
});

describe('authorizeEnvironment', () => {
  it('allows the operator and the admin of that environment only', async () => {
    const operator = await keys.token({ roles: ['platform-operator'] });
    const admin = await keys.token({ roles: ['environment-admin'], environments: ['e1', 'e2'] });
    const partner = await keys.token({ roles: ['partner'], environments: ['e1'] });
    expect(await codeOf(authorizeEnvironment(requestWith(`Bearer ${operator}`), 'anything'))).toBe('ok');
    expect(await codeOf(authorizeEnvironment(requestWith(`Bearer ${admin}`), 'e2'))).toBe('ok');
    expect(await codeOf(authorizeEnvironment(requestWith(`Bearer ${admin}`), 'e3'))).toBe('forbidden');
    expect(await codeOf(authorizeEnvironment(requestWith(`Bearer ${partner}`), 'e1'))).toBe('forbidden');
    expect(await codeOf(authorizeEnvironment(requestWith(), 'e1'))).toBe('unauthorized');
  });
});
