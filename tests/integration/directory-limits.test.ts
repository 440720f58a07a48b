import { describe, expect, it } from 'vitest';
import { readerFor, readGroup, useGroupDirectory, virtualTime } from './directory-support.js';

/** Timeouts, retries and the give-up budget, against a dev directory that hangs, stalls or throttles. */
describe('bounded directory calls', () => {
  const own = useGroupDirectory('Directory limits', 'contoso-limits', async (directory) => {
    const [user] = await directory.addUsers('Limit', 1);
    return (await directory.addGroup('Limits', [user!.id])).id;
  });

  async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
    const started = performance.now();
    const result = await work();
    return { result, ms: performance.now() - started };
  }

  it.each([
    ['Graph hangs before its headers', { kinds: ['graph'] as const, stall: 'headers' as const }],
    ['Graph sends headers, then stalls (slow-loris)', { kinds: ['graph'] as const, stall: 'body' as const }],
    ['the token endpoint hangs', { kinds: ['token'] as const, stall: 'headers' as const }],
    ['the token endpoint stalls mid-answer', { kinds: ['token'] as const, stall: 'body' as const }],
    ['the metadata endpoint hangs', { kinds: ['discovery'] as const, stall: 'headers' as const }],
  ])('%s: directory-timeout within the budget', async (_what, fault) => {
    await own.directory.slowResponses({ delayMs: 120_000, ...fault, kinds: [...fault.kinds] });
    try {
      const { result, ms } = await timed(() =>
        readGroup(
          readerFor(own.connection, {
            limits: { requestTimeoutMs: 200, giveUpAfterMs: 1_500, baseDelayMs: 10 },
          }),
          own.groupId,
        ),
      );
      expect(result.error?.code).toBe('directory-timeout');
      expect(result.error?.message).toMatch(/tenant "contoso-limits" did not answer within 0.2 seconds/);
      // Bounded by the budget (1.5 s) and one timeout, far below the 120 s the directory holds on;
      // the margin absorbs the token and metadata calls of a fresh reader on a busy machine.
      expect(ms).toBeLessThan(6_000);
    } finally {
      await own.directory.clearFaults();
    }
  });

  it('a hang is given up by the budget before the retries run out', async () => {
    try {
      const reader = readerFor(own.connection, {
        limits: { requestTimeoutMs: 300, giveUpAfterMs: 600, baseDelayMs: 10, maxRetries: 5 },
      });
      await reader.readGroup(own.groupId); // the token first: only Graph hangs below
      await own.directory.slowResponses({ delayMs: 120_000, kinds: ['graph'] });
      const { result, ms } = await timed(() => readGroup(reader, own.groupId));
      expect(result.error?.code).toBe('directory-timeout');
      // About three attempts fit in 600 ms of failing; all six would take 2 s with their backoff.
      expect(ms).toBeLessThan(1_800);
    } finally {
      await own.directory.clearFaults();
    }
  });

  it('a timeout is retried like a 503: one slow answer is ridden out', async () => {
    const reader = readerFor(own.connection, { limits: { requestTimeoutMs: 300 } });
    await reader.readGroup(own.groupId);
    await own.directory.slowResponses({ delayMs: 5_000, requests: 1, kinds: ['graph'] });
    try {
      const result = await readGroup(reader, own.groupId);
      expect(result.users).toHaveLength(1);
    } finally {
      await own.directory.clearFaults();
    }
  });

  it('waits what Retry-After says (fractional seconds), then succeeds', async () => {
    const time = virtualTime();
    const reader = readerFor(own.connection, time);
    await reader.readGroup(own.groupId);
    await own.directory.throttle({ requests: 3, retryAfterSeconds: 0.25 });
    const result = await readGroup(reader, own.groupId);
    expect(result.users).toHaveLength(1);
    expect(time.sleeps).toEqual([250, 250, 250]);
  });

  it('backs off exponentially without Retry-After', async () => {
    const time = virtualTime();
    const reader = readerFor(own.connection, {
      ...time,
      limits: { baseDelayMs: 1_000, maxDelayMs: 60_000, giveUpAfterMs: 60_000 },
    });
    await reader.readGroup(own.groupId);
    await own.directory.failRequests({ requests: 3, status: 504, retryAfterSeconds: null });
    const result = await readGroup(reader, own.groupId);
    expect(result.users).toHaveLength(1);
    expect(time.sleeps).toEqual([1_000, 2_000, 4_000]);
  });

  it('a Retry-After beyond the budget gives up at once, without sleeping', async () => {
    const time = virtualTime();
    const reader = readerFor(own.connection, { ...time, limits: { giveUpAfterMs: 5 * 60_000 } });
    await reader.readGroup(own.groupId);
    await own.directory.throttle({ requests: 1, retryAfterSeconds: 301 });
    try {
      const result = await readGroup(reader, own.groupId);
      expect(result.error?.code).toBe('directory-throttled');
      expect(time.sleeps).toEqual([]);
    } finally {
      await own.directory.clearFaults();
    }
  });

  it('a directory throttling for longer than the budget is given up before the retries run out', async () => {
    const time = virtualTime();
    const reader = readerFor(own.connection, { ...time, limits: { giveUpAfterMs: 9_000, maxRetries: 5 } });
    await reader.readGroup(own.groupId);
    await own.directory.throttle({ requests: 1000, retryAfterSeconds: 2 });
    try {
      const result = await readGroup(reader, own.groupId);
      expect(result.error?.code).toBe('directory-throttled');
      // A fifth wait would end 10 s after the first failure, beyond the 9 s budget.
      expect(time.sleeps).toEqual([2_000, 2_000, 2_000, 2_000]);
    } finally {
      await own.directory.clearFaults();
    }
  });
});
