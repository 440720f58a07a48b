import { describe, expect, it } from 'vitest';
import type { DirectoryReader } from '../../shared/directory/reader.js';
import type { DirectoryConnection } from '../../shared/directory/token.js';
import { isAppError } from '../../shared/errors.js';
import { fitsAsJsonProperty, fromSplitProperty, toSplitProperty } from '../../shared/storage/limits.js';
import { guardTenantHosts } from '../../shared/tenants/hosts.js';
import { BUCKETS, bucketOf, clientAddressOf, windowOf } from '../../shared/throttle/limiter.js';

const connection = (overrides: Partial<DirectoryConnection>): DirectoryConnection => ({
  name: 'contoso',
  directoryId: '11111111-1111-1111-1111-111111111111',
  clientId: '22222222-2222-2222-2222-222222222222',
  clientSecret: 's',
  authorityHost: 'https://login.microsoftonline.com',
  graphBaseUrl: 'https://graph.microsoft.com',
  ...overrides,
});

describe('stored tenants are held to the host policy when used', () => {
  const opened: string[] = [];
  const open = (c: DirectoryConnection): DirectoryReader => {
    opened.push(c.authorityHost);
    return {
      acquireToken: () => Promise.resolve(),
      readGroup: () => Promise.resolve({ id: 'g', displayName: 'G' }),
      listGroupUsers: () => ({
        [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }),
      }),
    };
  };

  it.each([
    ['authorityHost', 'https://10.0.0.1'],
    ['graphBaseUrl', 'https://graph.example.test'],
  ])('%s %s: the reader fails every call and the directory is never opened', async (field, value) => {
    opened.length = 0;
    const reader = guardTenantHosts(open, [])(connection({ [field]: value }));
    const error: unknown = await reader.readGroup('g').catch((e: unknown) => e);
    expect(isAppError(error, 'directory-unreachable') && error.message).toContain(field);
    const pages = reader.listGroupUsers('g')[Symbol.asyncIterator]();
    await expect(pages.next()).rejects.toThrow(/not contacted/);
    expect(opened).toEqual([]);
  });

  it('a host listed in DIRECTORY_HOSTS is opened', () => {
    opened.length = 0;
    guardTenantHosts(open, ['dir.test:8443'])(connection({ authorityHost: 'https://dir.test:8443' }));
    expect(opened).toEqual(['https://dir.test:8443']);
  });
});

describe('client address', () => {
  it.each<[string | null, string | undefined]>([
    [null, undefined],
    ['', undefined],
    ['203.0.113.7', '203.0.113.7'],
    ['203.0.113.7:51234', '203.0.113.7'],
    ['1.2.3.4, 203.0.113.7:51234', '203.0.113.7'],
    ['spoofed, [2001:DB8::1]:443', '2001:db8::1'],
    ['2001:db8::2', '2001:db8::2'],
  ])('%s -> %s', (header, expected) => {
    expect(clientAddressOf(header)).toBe(expected);
  });
});

describe('throttle buckets and windows', () => {
  it('any key maps to one of a fixed number of buckets', () => {
    const buckets = new Set(Array.from({ length: 20_000 }, (_, i) => bucketOf(`k${i}`)));
    expect(buckets.size).toBeLessThanOrEqual(BUCKETS);
    for (const bucket of buckets) expect(parseInt(bucket, 16)).toBeLessThan(BUCKETS);
  });

  it('windows are fixed, and Retry-After runs to the end of the current one', () => {
    const policy = { name: 'p', limit: 1, windowSeconds: 60 };
    expect(windowOf(policy, new Date('2026-01-01T00:00:10Z'))).toMatchObject({ retryAfterSeconds: 50 });
    expect(windowOf(policy, new Date('2026-01-01T00:00:59.5Z')).retryAfterSeconds).toBe(1);
    expect(windowOf(policy, new Date('2026-01-01T00:01:00Z')).index).toBe(
      windowOf(policy, new Date('2026-01-01T00:00:00Z')).index + 1,
    );
  });
});

describe('storage limits', () => {
  it('counts UTF-16 code units: 64 KiB is 32 Ki units', () => {
    expect(fitsAsJsonProperty(['x'.repeat(32 * 1024 - 4)])).toBe(true);
    expect(fitsAsJsonProperty(['x'.repeat(32 * 1024)])).toBe(false);
    expect(fitsAsJsonProperty(['é'.repeat(20_000)])).toBe(true);
    expect(fitsAsJsonProperty(['😀'.repeat(20_000)])).toBe(false);
  });

  it('a long value split over properties reads back whole; too long for the parts is refused', () => {
    const value = 'ab'.repeat(70_000);
    const parts = toSplitProperty('changes', value, 8);
    expect(parts && Object.keys(parts)).toEqual(['changes', 'changes1', 'changes2', 'changes3', 'changes4']);
    expect(fromSplitProperty(parts ?? {}, 'changes')).toBe(value);
    expect(toSplitProperty('changes', value, 2)).toBeUndefined();
  });
});
