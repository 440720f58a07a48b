import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { getJson } from './http.js';

/** What jose's jwtVerify accepts as a key source. */
export type KeyResolver = JWTVerifyGetKey;

const jwksSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });

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
  readonly load?: (uri: string) => Promise<unknown>;
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
  private readonly now: () => number;
  private readonly load: (uri: string) => Promise<unknown>;

  constructor(options: JwksCacheOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 60 * 60 * 1000;
    this.missCooldownMs = options.missCooldownMs ?? 60 * 1000;
    this.now = options.now ?? Date.now;
    this.load = options.load ?? getJson;
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
          if (retryError instanceof errors.JWKSNoMatchingKey) this.misses.set(key, this.now());
          throw retryError;
        }
      }
    };
  }

  private async current(uri: string): Promise<CachedSet> {
    const set = this.sets.get(uri);
    const age = set === undefined ? Infinity : this.now() - set.fetchedAt;
    if (set !== undefined && age >= 0 && age < this.maxAgeMs) return set;
    return this.fetchOnce(uri);
  }

  /** Concurrent fetches of the same set share one request; a failure leaves the old set in place. */
  private fetchOnce(uri: string): Promise<CachedSet> {
    let pending = this.inflight.get(uri);
    if (pending === undefined) {
      pending = this.load(uri)
        .then((value) => {
          const jwks = jwksSchema.parse(value) as JSONWebKeySet;
          const set: CachedSet = { resolve: createLocalJWKSet(jwks), fetchedAt: this.now() };
          this.sets.set(uri, set);
          return set;
        })
        .finally(() => this.inflight.delete(uri));
      this.inflight.set(uri, pending);
    }
    return pending;
  }
}

function missKey(uri: string, kid: string | undefined): string {
  return `${uri}\n${kid ?? ''}`;
}
