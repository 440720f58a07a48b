import { randomInt } from 'node:crypto';
import { testClock } from './storage.js';

/**
 * Puts the test clock at the start of a throttle window no other test uses. The limiter's hashed
 * buckets are shared by every file on a worker's storage account, so only a window of its own keeps
 * a test's counts exact. Tests calling this put the clock back with `testClock.use(undefined)`.
 */
export function useOwnThrottleWindow(): void {
  // A multiple of every policy's window (60 s and 600 s), some years ahead where no other test reads time.
  const windowStart = Date.UTC(2100, 0, 1) + randomInt(1_000_000) * 600_000;
  testClock.use({ now: () => new Date(windowStart + 1000) });
}
