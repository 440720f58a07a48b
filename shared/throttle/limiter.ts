import { createHash } from 'node:crypto';
import type { TableClient, TableEntity } from '@azure/data-tables';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { StorageAccount } from '../storage/account.js';
import { statusOf, storageError } from '../storage/errors.js';

/**
 * Throttling of the anonymous endpoints, shared by every instance through Table storage. Each
 * key (a client address, an email, an environment) is hashed into one of a fixed number of
 * buckets per policy, and a bucket holds one fixed-window counter that starts over when its
 * window has passed. Storage therefore never grows with anonymous traffic: at most BUCKETS rows
 * per policy, whatever is sent, and nothing to clean up. Keys sharing a bucket share its count,
 * which under a flood may throttle an innocent key early; never the other way round.
 */
export const THROTTLE_TABLE = 'throttle';
export const BUCKETS = 4096;
/** Optimistic rounds on one bucket before the request is refused as too contended. */
const ATTEMPTS = 3;

export interface ThrottlePolicy {
  /** Names the policy's partition. */
  readonly name: string;
  readonly limit: number;
  readonly windowSeconds: number;
}

/**
 * Per client address and per target, for the two anonymous endpoints that cost us something. The
 * per-address limits leave room for many people behind one corporate NAT.
 */
export const THROTTLES = Object.freeze({
  loginPerClient: { name: 'login-client', limit: 120, windowSeconds: 60 },
  loginPerEnvironment: { name: 'login-environment', limit: 600, windowSeconds: 60 },
  resetPerClient: { name: 'reset-client', limit: 60, windowSeconds: 600 },
  resetPerAddress: { name: 'reset-address', limit: 10, windowSeconds: 600 },
} satisfies Record<string, ThrottlePolicy>);

interface BucketEntity extends TableEntity {
  window: number;
  count: number;
}

/** Pure: the bucket of a key, so that any key maps to one of BUCKETS rows. */
export function bucketOf(key: string): string {
  const digest = createHash('sha256').update(key).digest();
  return (digest.readUInt32BE(0) % BUCKETS).toString(16).padStart(3, '0');
}

/** Pure: the window `now` falls in, and the seconds until the next. */
export function windowOf(policy: ThrottlePolicy, now: Date): { index: number; retryAfterSeconds: number } {
  const seconds = now.getTime() / 1000;
  const index = Math.floor(seconds / policy.windowSeconds);
  return { index, retryAfterSeconds: Math.max(1, Math.ceil((index + 1) * policy.windowSeconds - seconds)) };
}

export interface Throttle {
  /**
   * Counts one request of `key` under `policy`: false past the limit, or when the bucket is too
   * contended to count it (a flood, which the limit exists to stop).
   */
  admit(policy: ThrottlePolicy, key: string): Promise<boolean>;
  /** As `admit`, for endpoints that answer 429: AppError 'rate-limited' (with Retry-After) past the limit. */
  take(policy: ThrottlePolicy, key: string): Promise<void>;
}

export function createThrottle(deps: { storage: StorageAccount; clock: Clock }): Throttle {
  async function tryTake(
    client: TableClient,
    policy: ThrottlePolicy,
    rowKey: string,
    window: number,
  ): Promise<'taken' | 'full' | 'contended'> {
    let stored: (BucketEntity & { etag: string }) | undefined;
    try {
      stored = await client.getEntity<BucketEntity>(policy.name, rowKey);
    } catch (error) {
      if (statusOf(error) !== 404) throw storageError('Request limits could not be read.', error);
    }
    const count = stored?.window === window ? stored.count : 0;
    if (count >= policy.limit) return 'full';
    const entity: BucketEntity = { partitionKey: policy.name, rowKey, window, count: count + 1 };
    try {
      if (stored) await client.updateEntity(entity, 'Replace', { etag: stored.etag });
      else await client.createEntity(entity);
      return 'taken';
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412) return 'contended';
      throw storageError('Request limits could not be written.', error);
    }
  }

  async function admitIn(policy: ThrottlePolicy, key: string, window: number): Promise<boolean> {
    const client = await deps.storage.table(THROTTLE_TABLE);
    const rowKey = bucketOf(key);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const outcome = await tryTake(client, policy, rowKey, window);
      if (outcome === 'taken') return true;
      if (outcome === 'full') return false;
    }
    return false;
  }

  return {
    admit: (policy, key) => admitIn(policy, key, windowOf(policy, deps.clock.now()).index),

    async take(policy, key) {
      const { index, retryAfterSeconds } = windowOf(policy, deps.clock.now());
      if (await admitIn(policy, key, index)) return;
      throw new AppError('rate-limited', 'Too many requests; try again later.', { retryAfterSeconds });
    },
  };
}

/**
 * The client's address: the last X-Forwarded-For entry, the one Azure's front end appends (any
 * earlier entries are whatever the client sent), without its port; else the socket's address as
 * the local host reports it the same way. Undefined when neither is known.
 */
export function clientAddressOf(forwardedFor: string | null): string | undefined {
  if (forwardedFor === null) return undefined;
  const entries = forwardedFor
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const last = entries.at(-1);
  if (last === undefined) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(last);
  if (bracketed?.[1] !== undefined) return bracketed[1].toLowerCase();
  // One colon: IPv4 with a port. More: a bare IPv6 address.
  const colons = last.split(':').length - 1;
  return (colons === 1 ? last.slice(0, last.indexOf(':')) : last).toLowerCase();
}
