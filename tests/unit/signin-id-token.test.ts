import { describe, expect, it } from 'vitest';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { exportJWK, generateKeyPair, importPKCS8, SignJWT, type JWK, type JWTPayload } from 'jose';
import { verifyIdToken, type IdTokenExpectations } from '../../shared/auth/oidc/id-token.js';
import { JwksCache } from '../../shared/auth/oidc/jwks.js';
import { SigninError } from '../../shared/auth/signin-errors.js';

const ISSUER = 'https://login.example/11111111-1111-1111-1111-111111111111/v2.0';
const JWKS_URI = 'https://login.example/keys';
const NOW = new Date('2026-11-28T10:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const expected: IdTokenExpectations = {
  issuer: ISSUER,
  clientId: '22222222-2222-2222-2222-222222222222',
  directoryId: '11111111-1111-1111-1111-111111111111',
  nonce: 'the-nonce',
  now: NOW,
};

function makeKey(kid: string) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' });
  return {
    kid,
    publicPem,
    privateKey: importPKCS8(pkcs8, 'RS256'),
    publicJwk: exportJWK(publicKey).then((jwk): JWK => ({ ...jwk, kid, alg: 'RS256', use: 'sig' })),
  };
}

const keyA = makeKey('key-a');
const keyB = makeKey('key-b');

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const base: Record<string, unknown> = {
    iss: ISSUER,
    aud: expected.clientId,
    iat: NOW_S - 10,
    nbf: NOW_S - 10,
    exp: NOW_S + 3600,
    nonce: expected.nonce,
    tid: expected.directoryId,
    oid: '33333333-3333-3333-3333-333333333333',
    name: 'Ada Lovelace',
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

async function sign(payload: JWTPayload, key = keyA, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...header })
    .sign(await key.privateKey);
}

function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

function cacheServing(...sets: Array<() => Promise<JWK[]>>) {
  let calls = 0;
  const cache = new JwksCache({
    load: async () => {
      const next = sets[Math.min(calls, sets.length - 1)]!;
      calls++;
      return { keys: await next() };
    },
  });
  return { cache, calls: () => calls };
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof SigninError)) throw new Error(`expected a SigninError, got ${String(error)}`);
  return error.reason;
}

describe('verifyIdToken', () => {
  it('accepts a valid token and returns tid and oid', async () => {
    const { cache } = cacheServing(async () => [await keyA.publicJwk]);
    const identity = await verifyIdToken(await sign(claims()), cache.resolverFor(JWKS_URI), expected);
    expect(identity).toEqual({
      directoryId: expected.directoryId,
      objectId: '33333333-3333-3333-3333-333333333333',
      name: 'Ada Lovelace',
      preferredUsername: undefined,
    });
  });

  it.each([
    ['wrong issuer', { iss: 'https://login.example/other/v2.0' }, 'id-token-issuer'],
    ['wrong audience', { aud: 'someone-else' }, 'id-token-audience'],
    ['several audiences without azp', { aud: [expected.clientId, 'other'] }, 'id-token-audience'],
    ['expired beyond the skew', { exp: NOW_S - 301 }, 'id-token-expired'],
    ['not yet valid beyond the skew', { nbf: NOW_S + 301 }, 'id-token-not-yet-valid'],
    ['issued in the future beyond the skew', { iat: NOW_S + 301 }, 'id-token-issued-in-future'],
    [
      'issued and valid only in the future',
      { iat: NOW_S + 600, nbf: NOW_S + 600 },
      'id-token-issued-in-future',
    ],
    ['without iat', { iat: undefined }, 'id-token-malformed'],
    ['without exp', { exp: undefined }, 'id-token-malformed'],
    ['missing nonce', { nonce: undefined }, 'id-token-nonce-missing'],
    ['nonce mismatch', { nonce: 'other-nonce' }, 'id-token-nonce-mismatch'],
    ['wrong tid', { tid: '44444444-4444-4444-4444-444444444444' }, 'id-token-tenant'],
    ['missing tid', { tid: undefined }, 'id-token-tenant'],
    ['missing oid', { oid: undefined }, 'id-token-object-id-missing'],
  ])('refuses a token with %s', async (_name, overrides, reason) => {
    const { cache } = cacheServing(async () => [await keyA.publicJwk]);
    const token = await sign(claims(overrides));
    expect(await reasonOf(verifyIdToken(token, cache.resolverFor(JWKS_URI), expected))).toBe(reason);
  });

  it('tolerates up to 5 minutes of skew on exp, nbf and iat', async () => {
    const { cache } = cacheServing(async () => [await keyA.publicJwk]);
    const token = await sign(claims({ exp: NOW_S - 290, nbf: NOW_S + 290, iat: NOW_S + 290 }));
    await expect(verifyIdToken(token, cache.resolverFor(JWKS_URI), expected)).resolves.toBeDefined();
  });

  it('refuses a bad signature', async () => {
    const { cache } = cacheServing(async () => [await keyA.publicJwk]);
    const good = await sign(claims());
    const [h, p] = good.split('.');
    const forged = `${h}.${b64url(JSON.stringify(claims({ oid: 'someone-else' })))}.${good.split('.')[2]}`;
    expect(p).toBeDefined();
    expect(await reasonOf(verifyIdToken(forged, cache.resolverFor(JWKS_URI), expected))).toBe(
      'id-token-signature',
    );
  });

  it('refuses a token signed by another key under a known kid', async () => {
    const { cache } = cacheServing(async () => [await keyA.publicJwk]);
    const token = await sign(claims(), { ...keyB, kid: keyA.kid });
    expect(await reasonOf(verifyIdToken(token, cache.resolverFor(JWKS_URI), expected))).toBe(
      'id-token-signature',
    );
  });

  it('refuses alg none', async () => {
    const { cache } = cacheServing(async () => [await keyA.publicJwk]);
    const token = `${b64url(JSON.stringify({ alg: 'none', kid: keyA.kid }))}.${b64url(JSON.stringify(claims()))}.`;
    expect(await reasonOf(verifyIdToken(token, cache.resolverFor(JWKS_URI), expected))).toBe(
      'id-token-algorithm',
    );
  });

  it('refuses HS256 signed with the public key as the secret', async () => {
    const { cache } = cacheServing(async () => [await keyA.publicJwk]);
    const input = `${b64url(JSON.stringify({ alg: 'HS256', kid: keyA.kid, typ: 'JWT' }))}.${b64url(JSON.stringify(claims()))}`;
    const mac = createHmac('sha256', String(keyA.publicPem)).update(input).digest('base64url');
    expect(await reasonOf(verifyIdToken(`${input}.${mac}`, cache.resolverFor(JWKS_URI), expected))).toBe(
      'id-token-algorithm',
    );
  });

  it.each(['HS384', 'HS512'])('refuses %s signed with the public key as the secret', async (alg) => {
    const { cache } = cacheServing(async () => [await keyA.publicJwk]);
    const input = `${b64url(JSON.stringify({ alg, kid: keyA.kid, typ: 'JWT' }))}.${b64url(JSON.stringify(claims()))}`;
    const mac = createHmac(`sha${alg.slice(2)}`, String(keyA.publicPem))
      .update(input)
      .digest('base64url');
    expect(await reasonOf(verifyIdToken(`${input}.${mac}`, cache.resolverFor(JWKS_URI), expected))).toBe(
      'id-token-algorithm',
    );
  });

  it('refuses a malformed token', async () => {
    const { cache } = cacheServing(async () => [await keyA.publicJwk]);
    expect(await reasonOf(verifyIdToken('not.a.jwt', cache.resolverFor(JWKS_URI), expected))).toBe(
      'id-token-malformed',
    );
  });
});

describe('JwksCache', () => {
  it('fetches the key set once and reuses it', async () => {
    const { cache, calls } = cacheServing(async () => [await keyA.publicJwk]);
    const resolver = cache.resolverFor(JWKS_URI);
    await verifyIdToken(await sign(claims()), resolver, expected);
    await verifyIdToken(await sign(claims()), resolver, expected);
    expect(calls()).toBe(1);
  });

  it('refetches at once on an unknown kid, so a rotated key signs in immediately', async () => {
    const { cache, calls } = cacheServing(
      async () => [await keyA.publicJwk],
      async () => [await keyB.publicJwk],
    );
    const resolver = cache.resolverFor(JWKS_URI);
    await verifyIdToken(await sign(claims()), resolver, expected);
    await expect(verifyIdToken(await sign(claims(), keyB), resolver, expected)).resolves.toBeDefined();
    expect(calls()).toBe(2);
  });

  it('refetches only once for a kid that the refetch did not turn up', async () => {
    const { cache, calls } = cacheServing(async () => [await keyA.publicJwk]);
    const resolver = cache.resolverFor(JWKS_URI);
    const stranger = await sign(claims(), keyB);
    expect(await reasonOf(verifyIdToken(stranger, resolver, expected))).toBe('id-token-unknown-key');
    expect(await reasonOf(verifyIdToken(stranger, resolver, expected))).toBe('id-token-unknown-key');
    expect(calls()).toBe(2);
  });

  it('shares one refetch between concurrent verifications', async () => {
    const { cache, calls } = cacheServing(
      async () => [await keyA.publicJwk],
      async () => [await keyA.publicJwk, await keyB.publicJwk],
    );
    const resolver = cache.resolverFor(JWKS_URI);
    await verifyIdToken(await sign(claims()), resolver, expected);
    const token = await sign(claims(), keyB);
    await Promise.all([1, 2, 3].map(() => verifyIdToken(token, resolver, expected)));
    expect(calls()).toBe(2);
  });

  it('reads the set again once it is older than its maximum age, and after a miss cooldown', async () => {
    let now = 0;
    let calls = 0;
    const cache = new JwksCache({
      now: () => now,
      maxAgeMs: 1000,
      missCooldownMs: 500,
      load: async () => {
        calls++;
        return { keys: [await keyA.publicJwk] };
      },
    });
    const resolver = cache.resolverFor(JWKS_URI);
    await verifyIdToken(await sign(claims()), resolver, expected);
    now = 999;
    await verifyIdToken(await sign(claims()), resolver, expected);
    expect(calls).toBe(1);
    now = 1000;
    await verifyIdToken(await sign(claims()), resolver, expected);
    expect(calls).toBe(2);
    const stranger = await sign(claims(), keyB);
    expect(await reasonOf(verifyIdToken(stranger, resolver, expected))).toBe('id-token-unknown-key');
    expect(calls).toBe(3);
    now = 1499;
    expect(await reasonOf(verifyIdToken(stranger, resolver, expected))).toBe('id-token-unknown-key');
    expect(calls).toBe(3);
    now = 1500;
    expect(await reasonOf(verifyIdToken(stranger, resolver, expected))).toBe('id-token-unknown-key');
    expect(calls).toBe(4);
  });

  it('keeps the old set when a refetch fails', async () => {
    let calls = 0;
    const cache = new JwksCache({
      load: async () => {
        calls++;
        if (calls > 1) throw new Error('directory down');
        return { keys: [await keyA.publicJwk] };
      },
    });
    const resolver = cache.resolverFor(JWKS_URI);
    await verifyIdToken(await sign(claims()), resolver, expected);
    expect(await reasonOf(verifyIdToken(await sign(claims(), keyB), resolver, expected))).toBe(
      'directory-unreachable',
    );
    await expect(verifyIdToken(await sign(claims()), resolver, expected)).resolves.toBeDefined();
  });

  it('keeps using an expired set while the directory cannot be reached', async () => {
    let now = 0;
    let calls = 0;
    const cache = new JwksCache({
      now: () => now,
      maxAgeMs: 1000,
      load: async () => {
        calls++;
        if (calls > 1) throw new Error('directory down');
        return { keys: [await keyA.publicJwk] };
      },
    });
    const resolver = cache.resolverFor(JWKS_URI);
    await verifyIdToken(await sign(claims()), resolver, expected);
    now = 5000;
    await expect(verifyIdToken(await sign(claims()), resolver, expected)).resolves.toBeDefined();
    expect(calls).toBe(2);
  });
});

describe('verifyIdToken with the asymmetric algorithms an issuer may use', () => {
  const algorithms = [
    'RS256',
    'RS384',
    'RS512',
    'PS256',
    'PS384',
    'PS512',
    'ES256',
    'ES384',
    'ES512',
    'EdDSA',
  ] as const;
  // One key set holding a key of every algorithm, as an issuer rotating algorithms publishes.
  const keys = Promise.all(
    algorithms.map(async (alg) => {
      const pair = await generateKeyPair(alg, { extractable: true });
      const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: `k-${alg}`, alg, use: 'sig' };
      return { alg, privateKey: pair.privateKey, jwk };
    }),
  );

  it.each(algorithms)('accepts a token signed with %s by a key of the set', async (alg) => {
    const all = await keys;
    const key = all.find((k) => k.alg === alg)!;
    const { cache } = cacheServing(() => Promise.resolve(all.map((k) => k.jwk)));
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg, kid: key.jwk.kid!, typ: 'JWT' })
      .sign(key.privateKey);
    await expect(verifyIdToken(token, cache.resolverFor(JWKS_URI), expected)).resolves.toMatchObject({
      objectId: '33333333-3333-3333-3333-333333333333',
    });
  });

  it('still refuses a signature by a key of another algorithm under a kid of the set', async () => {
    const all = await keys;
    const es = all.find((k) => k.alg === 'ES256')!;
    const { cache } = cacheServing(() => Promise.resolve(all.map((k) => k.jwk)));
    const forged = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', kid: 'k-ES384', typ: 'JWT' })
      .sign(es.privateKey);
    expect(await reasonOf(verifyIdToken(forged, cache.resolverFor(JWKS_URI), expected))).toBe(
      'id-token-unknown-key',
    );
  });
});
