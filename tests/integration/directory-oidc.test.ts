import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import { systemClock } from '../../shared/clock.js';
import { createOidcClient, type OidcClient } from '../../shared/auth/oidc/client.js';
import type { OidcTenant } from '../../shared/auth/oidc/discovery.js';
import { CodeExchangeError } from '../../shared/auth/oidc/token-exchange.js';
import { isAppError } from '../../shared/errors.js';
import { connectionCounter } from './directory-support.js';

/** The sign-in's directory calls: fetch passed in, bounded, and held to the tenant's sign-in host. */
describe('OIDC client against the dev directory', () => {
  let directory: TestDirectory;
  let tenant: OidcTenant;

  function client(requestTimeoutMs = 5_000): OidcClient {
    return createOidcClient({
      fetch: (input, init) => fetch(input, init),
      clock: systemClock,
      limits: { requestTimeoutMs, baseDelayMs: 10, giveUpAfterMs: 2_000 },
    });
  }

  beforeAll(async () => {
    directory = await createTestDirectory({ displayName: 'OIDC client' });
    tenant = { name: 'contoso-oidc', directoryId: directory.id, authorityHost: directory.authorityHost };
  });

  it('reads the metadata and the key set, and caches the metadata', async () => {
    const oidc = client();
    await directory.resetRequestLog();
    const discovery = await oidc.discovery(tenant);
    expect(discovery.issuer).toBe(directory.issuer);
    expect(await oidc.discovery(tenant)).toEqual(discovery);
    const token = await directory.issueAccessToken();
    const [header] = token.split('.');
    const key = await oidc.keys(discovery)(
      JSON.parse(Buffer.from(header!, 'base64url').toString()) as { alg: string; kid: string },
      { payload: '', signature: '' },
    );
    expect(key).toBeDefined();
    expect((await directory.requestLog()).map((r) => r.kind)).toEqual(['discovery', 'keys']);
  });

  it('an unknown directory: directory-tenant-not-found', async () => {
    const error = await client()
      .discovery({ ...tenant, directoryId: randomUUID() })
      .catch((e: unknown) => e);
    expect(isAppError(error, 'directory-tenant-not-found')).toBe(true);
  });

  it('hanging metadata: directory-timeout, bounded', async () => {
    await directory.slowResponses({ delayMs: 120_000, kinds: ['discovery'] });
    try {
      const started = performance.now();
      const error = await client(200)
        .discovery(tenant)
        .catch((e: unknown) => e);
      expect(isAppError(error, 'directory-timeout')).toBe(true);
      expect(performance.now() - started).toBeLessThan(2_000);
    } finally {
      await directory.clearFaults();
    }
  });

  it('redeems codes at the token endpoint; a refused code is a CodeExchangeError', async () => {
    const oidc = client();
    const discovery = await oidc.discovery(tenant);
    const error = await oidc
      .redeemCode(
        {
          tokenEndpoint: discovery.tokenEndpoint,
          clientId: directory.app.clientId,
          clientSecret: directory.app.clientSecret,
          redirectUri: 'http://localhost:7071/api/auth/callback',
          code: 'not-a-code',
          codeVerifier: 'v'.repeat(43),
        },
        tenant,
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CodeExchangeError);
    expect((error as CodeExchangeError).error).toBe('invalid_grant');
  });

  it('never sends a code or secret to a token endpoint off the tenant’s host', async () => {
    const foreign = await connectionCounter();
    try {
      const error = await client()
        .redeemCode(
          {
            tokenEndpoint: `${foreign.origin}/token`,
            clientId: directory.app.clientId,
            clientSecret: directory.app.clientSecret,
            redirectUri: 'http://localhost:7071/api/auth/callback',
            code: 'a-code',
            codeVerifier: 'v'.repeat(43),
          },
          tenant,
        )
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CodeExchangeError);
      expect(isAppError((error as CodeExchangeError).cause, 'directory-malformed-answer')).toBe(true);
      expect(foreign.count()).toBe(0);
    } finally {
      await foreign.close();
    }
  });
});
