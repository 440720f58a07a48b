import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { getDirectoryJson, oidcHttp, type OidcDeps } from './http.js';

/** What jose's jwtVerify accepts as a key source. */
export type KeyResolver = JWTVerifyGetKey;

const jwksSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });

const MAX_REMEMBERED_MISSES = 1000;

/** The key set could not be read (network, status, not a JWKS): nothing to verify against. */
export class KeySetUnavailable extends Error {
  override readonly name = 'KeySetUnavailable';
  constructor(uri: string, options?: { cause?: unknown }) {
    super(`the key set at ${uri} could not be read`, options);
  }
}

interface CachedSet {
  readonly resolve: KeyResolver;
  readonly fetchedAt: number;
}

export interface JwksCacheOptions {
  /** How long a fetched key set is used before it is read again. */
  readonly maxAgeMs?: number;
  /**
   * After a refetch that still lacks a `kid`, that `kid` triggers no further refetch for this
   * long: a token with a made-up `kid` must not turn into a stream of requests to the directory.
   */
  readonly missCooldownMs?: number;
  readonly now?: () => number;
  readonly load: (uri: string) => Promise<unknown>;
  /**
   * How long past `maxAgeMs` a set is still used while it cannot be refreshed; unbounded by
   * default. After it, verification fails with KeySetUnavailable.
   */
  readonly maxStaleMs?: number;
  /** After a failed refresh, how long the stale set is used before the next attempt. */
  readonly retryAfterFailureMs?: number;
}

/**
 * Key sets by JWKS URI. Unlike jose's remote set, whose cooldown refuses to refetch for 30 s after
 * any fetch, a `kid` we have not seen causes one refetch right away, so a directory that has just
 * rotated its keys is followed at once; only a `kid` that a refetch did not turn up is throttled.
 */
export class JwksCache {
  private readonly sets = new Map<string, CachedSet>();
  private readonly inflight = new Map<string, Promise<CachedSet>>();
  private readonly misses = new Map<string, number>();
  private readonly maxAgeMs: number;
  private readonly missCooldownMs: number;
  private readonly maxStaleMs: number;
  private readonly retryAfterFailureMs: number;
  private readonly failedAt = new Map<string, number>();
  private readonly now: () => number;
  private readonly load: (uri: string) => Promise<unknown>;

  constructor(options: JwksCacheOptions) {
    this.maxAgeMs = options.maxAgeMs ?? 60 * 60 * 1000;
    this.missCooldownMs = options.missCooldownMs ?? 60 * 1000;
    this.maxStaleMs = options.maxStaleMs ?? Infinity;
    this.retryAfterFailureMs = options.retryAfterFailureMs ?? 0;
    this.now = options.now ?? (() => Date.now());
    this.load = options.load;
  }

  /** A key resolver for one JWKS URI, for jose's jwtVerify. */
  resolverFor(uri: string): KeyResolver {
    return async (header, token) => {
      const current = await this.current(uri);
      try {
        return await current.resolve(header, token);
      } catch (error) {
        if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
        const key = missKey(uri, header.kid);
        const missedAt = this.misses.get(key);
        if (missedAt !== undefined && this.now() - missedAt < this.missCooldownMs) throw error;
        const newer = this.sets.get(uri);
        const refreshed = newer && newer.fetchedAt > current.fetchedAt ? newer : await this.fetchOnce(uri);
        try {
          const resolved = await refreshed.resolve(header, token);
          this.misses.delete(key);
          return resolved;
        } catch (retryError) {
          if (retryError instanceof errors.JWKSNoMatchingKey) this.rememberMiss(key);
          throw retryError;
        }
      }
    };
  }

  private rememberMiss(key: string): void {
    if (this.misses.size >= MAX_REMEMBERED_MISSES) {
      const now = this.now();
      for (const [k, at] of this.misses) if (now - at >= this.missCooldownMs) this.misses.delete(k);
      // Still full: forget the oldest; at worst that kid gets one more refetch.
      const oldest = this.misses.keys().next();
      if (this.misses.size >= MAX_REMEMBERED_MISSES && oldest.done !== true) this.misses.delete(oldest.value);
    }
    this.misses.set(key, this.now());
  }

  private async current(uri: string): Promise<CachedSet> {
    const set = this.sets.get(uri);
    const age = set === undefined ? Infinity : this.now() - set.fetchedAt;
    if (set !== undefined && age >= 0 && age < this.maxAgeMs) return set;
    if (set === undefined) return this.fetchOnce(uri);
    // Keys rotate over weeks: an issuer briefly unreachable should not stop the tokens it signed,
    // for a bounded time; the stale set spares the issuer a request per call while it is down.
    const usable = age < this.maxAgeMs + this.maxStaleMs;
    const failedAt = this.failedAt.get(uri);
    if (usable && failedAt !== undefined && this.now() - failedAt < this.retryAfterFailureMs) return set;
    return this.fetchOnce(uri).catch((error: unknown) => {
      this.failedAt.set(uri, this.now());
      if (usable) return set;
      throw error;
    });
  }

  /** Concurrent fetches of the same set share one request; a failure leaves the old set in place. */
  private fetchOnce(uri: string): Promise<CachedSet> {
    let pending = this.inflight.get(uri);
    if (pending === undefined) {
      pending = this.load(uri)
        .then((value) => {
          const parsed = jwksSchema.safeParse(value);
          if (!parsed.success) throw new Error('the key set is not a JWKS document');
          const jwks = parsed.data as JSONWebKeySet;
          const set: CachedSet = { resolve: createLocalJWKSet(jwks), fetchedAt: this.now() };
          this.sets.set(uri, set);
          this.failedAt.delete(uri);
          return set;
        })
        .catch((error: unknown) => {
          throw new KeySetUnavailable(uri, { cause: error });
        })
        .finally(() => this.inflight.delete(uri));
      this.inflight.set(uri, pending);
    }
    return pending;
  }
}

/** Reads a key set through the bounded directory HTTP, confined to the key set's own origin. */
export function keySetLoader(deps: OidcDeps): (uri: string) => Promise<unknown> {
  return (uri) => {
    const url = new URL(uri);
    return getDirectoryJson(oidcHttp(deps, { directoryId: url.host }, url.origin), uri);
  };
}

function missKey(uri: string, kid: string | undefined): string {
  return `${uri}\n${kid ?? ''}`;
}
