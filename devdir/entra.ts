import { timingSafeEqual } from 'node:crypto';
import type { Core } from './core.js';
import { entraTimestamp, jsonReply, requestId, type Reply } from './http.js';
import { takeFailure } from './faults.js';
import { v2Issuer } from './tokens.js';

/** An error as Entra's token and discovery endpoints answer it. */
export function entraError(
  origin: string,
  status: number,
  error: string,
  code: number,
  description: string,
): Reply {
  const traceId = requestId();
  const correlationId = requestId();
  const timestamp = entraTimestamp();
  return jsonReply(
    status,
    {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${origin}/error?code=${code}`,
    },
    { 'cache-control': 'no-store', pragma: 'no-cache' },
  );
}

export function tenantNotFound(origin: string, tenantId: string): Reply {
  return entraError(
    origin,
    400,
    'invalid_tenant',
    90002,
    `Tenant '${tenantId}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
}

/** An injected throttle or failure of the token, metadata or key set endpoint, as Entra answers it. */
export function injectedEntraFault(
  core: Core,
  tenantId: string,
  kind: 'token' | 'discovery' | 'keys',
): Reply | undefined {
  const directory = core.directory(tenantId);
  const failure = directory === undefined ? undefined : takeFailure(directory, kind);
  if (failure === undefined) return undefined;
  const traceId = requestId();
  return jsonReply(
    failure.status,
    {
      error: 'temporarily_unavailable',
      error_description: `The service is temporarily unavailable. Trace ID: ${traceId} Timestamp: ${entraTimestamp()}`,
      error_codes: [],
      trace_id: traceId,
    },
    failure.retryAfterSeconds === null ? {} : { 'retry-after': String(failure.retryAfterSeconds) },
  );
}

export function discovery(core: Core, tenantId: string): Reply {
  const directory = core.directory(tenantId);
  if (directory === undefined) return tenantNotFound(core.origin, tenantId);
  const base = `${core.origin}/${directory.id}`;
  const graphHost = new URL(core.origin).host;
  return jsonReply(
    200,
    {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: v2Issuer(core.origin, directory.id),
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${core.origin}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: [
        'sub',
        'iss',
        'cloud_instance_name',
        'cloud_instance_host_name',
        'cloud_graph_host_name',
        'msgraph_host',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      kerberos_endpoint: `${base}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'dev.local',
      cloud_graph_host_name: graphHost,
      msgraph_host: graphHost,
      rbac_url: core.origin,
    },
    { 'cache-control': 'max-age=86400, private', 'access-control-allow-origin': '*' },
  );
}

export function jwks(core: Core, tenantId: string): Reply {
  const directory = core.directory(tenantId);
  if (directory === undefined) return tenantNotFound(core.origin, tenantId);
  return jsonReply(
    200,
    {
      keys: directory.keys.map((key) => ({ ...key.publicJwk, issuer: v2Issuer(core.origin, directory.id) })),
    },
    { 'cache-control': 'max-age=86400, private', 'access-control-allow-origin': '*' },
  );
}

export function parseScopes(value: string | null): string[] {
  return (value ?? '').split(/\s+/).filter((scope) => scope !== '');
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
