import { z } from 'zod';
import { getJson } from './http.js';

/** The fields of an OpenID Provider's metadata that the sign-in uses. */
export interface DiscoveryDocument {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
}

const httpsUrl = z.url({ protocol: /^https$/ });

const discoverySchema = z.object({
  issuer: httpsUrl,
  authorization_endpoint: httpsUrl,
  token_endpoint: httpsUrl,
  jwks_uri: httpsUrl,
});

/** `{authorityHost}/{directoryId}/v2.0/.well-known/openid-configuration`. */
export function discoveryUrl(authorityHost: string, directoryId: string): string {
  const host = authorityHost.replace(/\/+$/, '');
  return `${host}/${encodeURIComponent(directoryId)}/v2.0/.well-known/openid-configuration`;
}

/**
 * Reads the metadata. Multi-tenant metadata spells the issuer with a `{tenantid}` placeholder;
 * asked for one directory, that placeholder can only mean that directory.
 */
export function fromDiscoveryJson(value: unknown, directoryId: string): DiscoveryDocument {
  const parsed = discoverySchema.parse(value);
  return {
    issuer: parsed.issuer.replace('{tenantid}', directoryId),
    authorizationEndpoint: parsed.authorization_endpoint,
    tokenEndpoint: parsed.token_endpoint,
    jwksUri: parsed.jwks_uri,
  };
}

const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const cache = new Map<string, { readonly document: DiscoveryDocument; readonly fetchedAt: number }>();

/** The directory's metadata, cached for an hour per URL; failures are not cached. */
export async function getDiscovery(
  authorityHost: string,
  directoryId: string,
  now: number = Date.now(),
): Promise<DiscoveryDocument> {
  const url = discoveryUrl(authorityHost, directoryId);
  const cached = cache.get(url);
  if (cached && now - cached.fetchedAt < DISCOVERY_TTL_MS && now >= cached.fetchedAt) return cached.document;
  const document = fromDiscoveryJson(await getJson(url), directoryId);
  cache.set(url, { document, fetchedAt: now });
  return document;
}

export function clearDiscoveryCache(): void {
  cache.clear();
}
