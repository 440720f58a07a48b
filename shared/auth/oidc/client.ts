import { createDiscoverySource, type DiscoveryDocument, type OidcTenant } from './discovery.js';
import { oidcHttp, type OidcDeps } from './http.js';
import { JwksCache, keySetLoader, type KeyResolver } from './jwks.js';
import { redeemCode, type CodeExchange } from './token-exchange.js';

/**
 * The sign-in's view of a tenant's directory: its checked metadata, its keys and its token
 * endpoint, every call bounded and confined to the tenant's sign-in host. One per process (the
 * caches live here).
 */
export interface OidcClient {
  /** Fails with a directory AppError; `directory-malformed-answer` when the metadata leaves the tenant's host. */
  discovery(tenant: OidcTenant): Promise<DiscoveryDocument>;
  /** Keys for verifying ID tokens of this directory (refetched on an unknown `kid`). */
  keys(discovery: DiscoveryDocument): KeyResolver;
  /** The raw ID token for a code, or a CodeExchangeError. */
  redeemCode(exchange: CodeExchange, tenant: OidcTenant): Promise<string>;
}

export function createOidcClient(deps: OidcDeps): OidcClient {
  const discoveries = createDiscoverySource(deps);
  const jwks = new JwksCache({ load: keySetLoader(deps), now: () => deps.clock.now().getTime() });
  return {
    discovery: (tenant) => discoveries.get(tenant),
    keys: (discovery) => jwks.resolverFor(discovery.jwksUri),
    redeemCode: (exchange, tenant) =>
      redeemCode(
        exchange,
        oidcHttp(
          deps,
          { name: tenant.name, directoryId: tenant.directoryId },
          new URL(tenant.authorityHost).origin,
        ),
      ),
  };
}
