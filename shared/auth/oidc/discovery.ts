import { z } from 'zod';
import type { DirectorySubject } from '../../directory/errors.js';
import { isOnOrigin, MICROSOFT_AUTHORITY_HOSTS } from '../../directory/hosts.js';
import { getDirectoryJson, oidcHttp, type OidcDeps } from './http.js';

/** The fields of an OpenID Provider's metadata that the sign-in uses. */
export interface DiscoveryDocument {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
}

/** The tenant whose directory signs people in. */
export interface OidcTenant {
  readonly name?: string;
  readonly directoryId: string;
  readonly authorityHost: string;
}

const httpsUrl = z.url({ protocol: /^https$/ });

const discoverySchema = z.object({
  issuer: z.string(),
  authorization_endpoint: httpsUrl,
  token_endpoint: httpsUrl,
  jwks_uri: httpsUrl,
});

/** `{authorityHost}/{directoryId}/v2.0/.well-known/openid-configuration`. */
export function discoveryUrl(authorityHost: string, directoryId: string): string {
  const host = authorityHost.replace(/\/+$/, '');
  return `${host}/${encodeURIComponent(directoryId)}/v2.0/.well-known/openid-configuration`;
}

export type DiscoveryReading =
  | { readonly ok: true; readonly document: DiscoveryDocument }
  | { readonly ok: false; readonly problem: string };

/**
 * An issuer this tenant's tokens may carry: https, naming the directory as its first path segment,
 * on the authority's own host, or on another of Microsoft's sign-in hosts when the authority is
 * one of them (a sovereign cloud may issue from its other host name).
 */
function issuerFits(issuer: string, tenant: OidcTenant): boolean {
  if (!URL.canParse(issuer)) return false;
  const url = new URL(issuer);
  const authority = new URL(tenant.authorityHost);
  const hostFits =
    url.origin === authority.origin ||
    (url.port === '' &&
      authority.port === '' &&
      MICROSOFT_AUTHORITY_HOSTS.includes(authority.hostname) &&
      MICROSOFT_AUTHORITY_HOSTS.includes(url.hostname));
  const firstSegment = url.pathname.split('/')[1] ?? '';
  return (
    url.protocol === 'https:' &&
    url.username === '' &&
    url.password === '' &&
    hostFits &&
    firstSegment.toLowerCase() === tenant.directoryId.toLowerCase()
  );
}

/**
 * Reads the metadata and holds it to the tenant's host: endpoints anywhere else would receive the
 * client secret, codes or trust decisions. Multi-tenant metadata spells the issuer with a
 * `{tenantid}` placeholder; asked for one directory, that placeholder can only mean that directory.
 */
export function fromDiscoveryJson(value: unknown, tenant: OidcTenant): DiscoveryReading {
  const parsed = discoverySchema.safeParse(value);
  if (!parsed.success) return { ok: false, problem: 'metadata without https endpoints and an issuer' };
  const origin = new URL(tenant.authorityHost).origin;
  const endpoints = [parsed.data.authorization_endpoint, parsed.data.token_endpoint, parsed.data.jwks_uri];
  if (!endpoints.every((endpoint) => isOnOrigin(endpoint, origin))) {
    return { ok: false, problem: 'metadata naming endpoints on another host' };
  }
  const issuer = parsed.data.issuer.replace('{tenantid}', tenant.directoryId);
  if (!issuerFits(issuer, tenant)) {
    return { ok: false, problem: 'metadata naming an issuer that is not this directory on its host' };
  }
  return {
    ok: true,
    document: {
      issuer,
      authorizationEndpoint: parsed.data.authorization_endpoint,
      tokenEndpoint: parsed.data.token_endpoint,
      jwksUri: parsed.data.jwks_uri,
    },
  };
}

export interface DiscoverySource {
  /** The directory's checked metadata, cached for an hour per URL; failures are not cached. */
  get(tenant: OidcTenant): Promise<DiscoveryDocument>;
}

const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const MAX_CACHED = 1000;

export function createDiscoverySource(deps: OidcDeps): DiscoverySource {
  const cache = new Map<string, { readonly document: DiscoveryDocument; readonly fetchedAt: number }>();
  return {
    async get(tenant) {
      const url = discoveryUrl(tenant.authorityHost, tenant.directoryId);
      const now = deps.clock.now().getTime();
      const cached = cache.get(url);
      if (cached && now - cached.fetchedAt < DISCOVERY_TTL_MS && now >= cached.fetchedAt)
        return cached.document;
      const subject: DirectorySubject = { name: tenant.name, directoryId: tenant.directoryId };
      const http = oidcHttp(deps, subject, new URL(tenant.authorityHost).origin);
      const reading = fromDiscoveryJson(await getDirectoryJson(http, url), tenant);
      if (!reading.ok) throw http.fail({ code: 'directory-malformed-answer', problem: reading.problem });
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(url, { document: reading.document, fetchedAt: now });
      return reading.document;
    },
  };
}
