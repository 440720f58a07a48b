import { beforeAll, beforeEach } from 'vitest';
import azureFunctions, { type HttpResponseInit } from '@azure/functions';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { Role } from '../../shared/auth/policy.js';
import { bindHandler, httpRegistrations } from '../../shared/host/registry.js';
import { guid } from '../support/ids.js';
import { testServices, useManagementKeySource, useTestEnvironment } from '../support/storage.js';

const { HttpRequest, InvocationContext } = azureFunctions;

/** Calling registered handlers directly: local management signing keys, requests, captured logs. */
export interface TokenClaims {
  sub?: string;
  roles?: Role[] | string[];
  environments?: string[];
  iss?: string;
  aud?: string;
  expiresInSeconds?: number;
  notBeforeSeconds?: number;
  alg?: 'ES256' | 'RS256';
}

export interface ManagementKeys {
  token(claims?: TokenClaims): Promise<string>;
  /** A token signed by a key the JWKS does not hold. */
  foreignToken(claims?: TokenClaims): Promise<string>;
  jwks: { keys: JWK[] };
}

async function keyPair(alg: 'ES256' | 'RS256', kid: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { privateKey, jwk };
}

/** Installs a local JWKS (ES256 and RS256 keys) as the management key source. */
export async function useManagementKeys(): Promise<ManagementKeys> {
  const es = await keyPair('ES256', 'es-1');
  const rs = await keyPair('RS256', 'rs-1');
  const foreign = await keyPair('ES256', 'es-1');
  const jwks = { keys: [es.jwk, rs.jwk] };
  useManagementKeySource(createLocalJWKSet(jwks));
  const sign = async (
    claims: TokenClaims,
    key: Awaited<ReturnType<typeof keyPair>>,
    alg: 'ES256' | 'RS256',
  ) => {
    const { issuer, audience } = testServices().config.management;
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = { roles: claims.roles ?? [] };
    if (claims.environments) payload.environments = claims.environments;
    const jwt = new SignJWT(payload)
      .setProtectedHeader({ alg, kid: key.jwk.kid })
      .setIssuer(claims.iss ?? issuer)
      .setAudience(claims.aud ?? audience)
      .setIssuedAt(now)
      .setExpirationTime(now + (claims.expiresInSeconds ?? 600));
    if (claims.sub !== '') jwt.setSubject(claims.sub ?? 'someone');
    if (claims.notBeforeSeconds !== undefined) jwt.setNotBefore(now + claims.notBeforeSeconds);
    return jwt.sign(key.privateKey);
  };
  return {
    jwks,
    token: (claims = {}) => {
      const alg = claims.alg ?? 'ES256';
      return sign(claims, alg === 'ES256' ? es : rs, alg);
    },
    foreignToken: (claims = {}) => sign(claims, foreign, 'ES256'),
  };
}

export interface LogLine {
  level: string;
  args: unknown[];
}

export interface CallInput {
  method: string;
  path: string;
  params?: Record<string, string>;
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  text: string;
}

/** Every log line any handler wrote through its InvocationContext during this test file. */
export const capturedLogs: LogLine[] = [];

export function newContext(): azureFunctions.InvocationContext {
  return new InvocationContext({
    logHandler: (level, ...args) => {
      capturedLogs.push({ level, args });
    },
  });
}

/** Calls the registered handler `name` the way the host would. */
export async function call(name: string, input: CallInput): Promise<CallResult> {
  const registration = httpRegistrations().find((r) => r.name === name);
  if (!registration) throw new Error(`${name} is not an HTTP function`);
  const headers: Record<string, string> = { ...(input.headers ?? {}) };
  if (input.token !== undefined) headers.authorization = `Bearer ${input.token}`;
  let bodyText: string | undefined = input.rawBody;
  if (bodyText === undefined && input.body !== undefined) {
    bodyText = JSON.stringify(input.body);
    headers['content-type'] ??= 'application/json';
  }
  const request = new HttpRequest({
    method: input.method,
    url: `http://localhost:7071/api/${input.path}`,
    headers,
    params: input.params ?? {},
    ...(bodyText === undefined ? {} : { body: { string: bodyText } }),
  });
  const response: HttpResponseInit = await bindHandler(registration, testServices())(request, newContext());
  const text = typeof response.body === 'string' ? response.body : '';
  const responseHeaders: Record<string, string> = {};
  for (const [key, value] of Object.entries((response.headers ?? {}) as Record<string, string>)) {
    responseHeaders[key.toLowerCase()] = value;
  }
  return {
    status: response.status ?? 200,
    headers: responseHeaders,
    body: text === '' ? undefined : (JSON.parse(text) as unknown),
    text,
  };
}

/** A valid tenant body for the environment `env-1` with a fresh directory, client and secret. */
export function tenantBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    directoryId: guid(),
    clientId: guid(),
    clientSecret: `s3cret-${guid()}`,
    environments: ['env-1'],
    ...overrides,
  };
}

/** A call of the tenant endpoint `fn` (route `tenants/{name}`) through its registered handler. */
export function callTenant(
  fn: 'tenantGet' | 'tenantPut' | 'tenantDelete',
  name: string,
  token: string,
  body?: unknown,
): Promise<CallResult> {
  const method = { tenantGet: 'GET', tenantPut: 'PUT', tenantDelete: 'DELETE' }[fn];
  return call(fn, {
    method,
    path: `tenants/${name}`,
    params: { name },
    token,
    ...(body === undefined ? {} : { body }),
  });
}

/** `PUT /api/tenants/{name}` through its registered handler. */
export function putTenant(name: string, body: unknown, token: string): Promise<CallResult> {
  return callTenant('tenantPut', name, token, body);
}

export interface HandlerTests<Caller extends string> {
  /** One management token per caller, made before the file's tests. */
  readonly tokens: Readonly<Record<Caller, string>>;
  /** The local management keys, for tokens a test makes itself. */
  readonly keys: () => ManagementKeys;
}

/**
 * Sets up a file of handler tests: `register` imports the function files it calls, management
 * keys are installed with a token per caller, and each test starts in a fresh test environment.
 */
export function useHandlerTests<Caller extends string>(
  register: () => Promise<unknown>,
  callers: Readonly<Record<Caller, TokenClaims>>,
): HandlerTests<Caller> {
  const tokens = {} as Record<Caller, string>;
  let keys: ManagementKeys | undefined;
  beforeAll(async () => {
    await register();
    useTestEnvironment();
    keys = await useManagementKeys();
    for (const [caller, claims] of Object.entries(callers) as [Caller, TokenClaims][]) {
      tokens[caller] = await keys.token(claims);
    }
  });
  beforeEach(() => {
    useTestEnvironment();
  });
  return {
    tokens,
    keys: () => {
      if (keys === undefined) throw new Error('the management keys are installed in beforeAll');
      return keys;
    },
  };
}
