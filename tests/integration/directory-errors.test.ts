import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TestDirectory } from '../support/dev-directory.js';
import {
  connectionCounter,
  readerFor,
  readGroup,
  useGroupDirectory,
  virtualTime,
} from './directory-support.js';

/** Each directory error a partner can act on, produced by the real dev directory through the reader. */
describe('directory error codes', () => {
  const own = useGroupDirectory('Directory errors', 'contoso-errors', async (directory) => {
    const users = await directory.addUsers('Err', 3);
    const nested = await directory.addGroup('Nested', [users[2]!.id]);
    return (await directory.addGroup('Errors', [users[0]!.id, users[1]!.id, nested.id])).id;
  });

  /** A fresh app registration, so faults set on it touch no other test. */
  async function ownApp(spec: Parameters<TestDirectory['addApplication']>[0] = {}) {
    const app = await own.directory.addApplication(spec);
    return { ...own.connection, clientId: app.clientId, clientSecret: app.clientSecret };
  }

  it('reads a group across pages from the tenant’s own host only', async () => {
    await own.directory.capPageSize(1);
    try {
      await own.directory.resetRequestLog();
      const result = await readGroup(readerFor(own.connection), own.groupId);
      expect(result.users?.map((u) => u.displayName).sort()).toEqual(['Err 1', 'Err 2', 'Err 3']);
      const kinds = new Set((await own.directory.requestLog()).map((entry) => entry.kind));
      expect([...kinds].sort()).toEqual(['discovery', 'graph', 'token']);
    } finally {
      await own.directory.capPageSize(null);
    }
  });

  it('a wrong secret: directory-credentials-invalid (AADSTS7000215), the secret never in the message', async () => {
    const result = await readGroup(
      readerFor({ ...own.connection, clientSecret: 'wrong-secret-value' }),
      own.groupId,
    );
    expect(result.error?.code).toBe('directory-credentials-invalid');
    expect(result.error?.message).toMatch(/tenant "contoso-errors".*create a new client secret/);
    expect(result.error?.message).not.toContain('wrong-secret-value');
    expect(result.error?.message).not.toContain('AADSTS7000215:');
  });

  it('an expired secret: directory-credentials-expired (AADSTS7000222)', async () => {
    const tenant = await ownApp({ clientSecretExpiresAt: '2020-01-01T00:00:00Z' });
    const result = await readGroup(readerFor(tenant), own.groupId);
    expect(result.error?.code).toBe('directory-credentials-expired');
    expect(result.error?.message).toMatch(
      /client secret of tenant "contoso-errors" has expired: create a new secret/,
    );
    expect(result.error?.message).not.toContain(tenant.clientSecret);
  });

  it('an unknown app: directory-app-not-found (AADSTS700016)', async () => {
    const result = await readGroup(readerFor({ ...own.connection, clientId: randomUUID() }), own.groupId);
    expect(result.error?.code).toBe('directory-app-not-found');
  });

  it('an unknown directory: directory-tenant-not-found (AADSTS90002)', async () => {
    const result = await readGroup(readerFor({ ...own.connection, directoryId: randomUUID() }), own.groupId);
    expect(result.error?.code).toBe('directory-tenant-not-found');
  });

  it('an app without GroupMember.Read.All: directory-permission-missing (Graph 403)', async () => {
    const tenant = await ownApp({ graphPermissions: [] });
    const result = await readGroup(readerFor(tenant), own.groupId);
    expect(result.error?.code).toBe('directory-permission-missing');
    expect(result.error?.message).toMatch(/GroupMember\.Read\.All/);
  });

  it('an unknown group: group-not-found, naming the group', async () => {
    const missing = randomUUID();
    const result = await readGroup(readerFor(own.connection), missing);
    expect(result.error?.code).toBe('group-not-found');
    expect(result.error?.message).toContain(missing);
  });

  it('throttling beyond 5 retries: directory-throttled', async () => {
    const time = virtualTime();
    const reader = readerFor(own.connection, { clock: time.clock, sleep: time.sleep });
    await reader.readGroup(own.groupId); // token first, so only Graph is throttled below
    await own.directory.throttle({ requests: 6, retryAfterSeconds: 0.5 });
    try {
      const result = await readGroup(reader, own.groupId);
      expect(result.error?.code).toBe('directory-throttled');
      expect(time.sleeps).toEqual([500, 500, 500, 500, 500]);
    } finally {
      await own.directory.clearFaults();
    }
  });

  it('a throttled token endpoint: directory-throttled', async () => {
    const time = virtualTime();
    await own.directory.throttle({ requests: 6, retryAfterSeconds: 1, kinds: ['token'] });
    try {
      const reader = readerFor(own.connection, { ...time, limits: { giveUpAfterMs: 60_000 } });
      const result = await readGroup(reader, own.groupId);
      expect(result.error?.code).toBe('directory-throttled');
      expect(time.sleeps).toEqual([1000, 1000, 1000, 1000, 1000]);
    } finally {
      await own.directory.clearFaults();
    }
  });

  it('nothing listening: directory-unreachable', async () => {
    const closed = await connectionCounter();
    await closed.close();
    const result = await readGroup(
      readerFor({ ...own.connection, authorityHost: closed.origin, graphBaseUrl: closed.origin }),
      own.groupId,
    );
    expect(result.error?.code).toBe('directory-unreachable');
  });

  it('Graph answering 503 throughout: directory-unreachable; a 500 is not retried', async () => {
    const time = virtualTime();
    const reader = readerFor(own.connection, time);
    await reader.readGroup(own.groupId);
    await own.directory.failRequests({ requests: 1000, status: 503, retryAfterSeconds: null });
    try {
      expect((await readGroup(reader, own.groupId)).error?.code).toBe('directory-unreachable');
      expect(time.sleeps).toEqual([10, 20, 40, 50, 50]);
      await own.directory.failRequests({ requests: 1, status: 500 });
      time.sleeps.length = 0;
      expect((await readGroup(reader, own.groupId)).error?.code).toBe('directory-unreachable');
      expect(time.sleeps).toEqual([]);
    } finally {
      await own.directory.clearFaults();
    }
  });

  it('a nextLink to another host: directory-malformed-answer, and that host is never contacted', async () => {
    const foreign = await connectionCounter();
    await own.directory.capPageSize(1);
    await own.directory.admin.spoilNextLinks(own.directory.id, {
      kind: 'foreign-origin',
      origin: foreign.origin,
    });
    try {
      const result = await readGroup(readerFor(own.connection), own.groupId);
      expect(result.error?.code).toBe('directory-malformed-answer');
      expect(result.error?.message).toMatch(/next page link to a host other than its Graph URL/);
      expect(foreign.count()).toBe(0);
    } finally {
      await own.directory.clearFaults();
      await foreign.close();
    }
  });

  it('a nextLink that repeats: directory-malformed-answer after two pages', async () => {
    await own.directory.capPageSize(1);
    await own.directory.admin.spoilNextLinks(own.directory.id, { kind: 'repeat' });
    try {
      await own.directory.resetRequestLog();
      const result = await readGroup(readerFor(own.connection), own.groupId);
      expect(result.error?.code).toBe('directory-malformed-answer');
      expect(result.error?.message).toMatch(/repeats/);
      const pages = (await own.directory.requestLog('graph')).filter((r) =>
        r.path.endsWith('microsoft.graph.user'),
      );
      expect(pages).toHaveLength(2);
    } finally {
      await own.directory.clearFaults();
    }
  });

  it('more pages than the cap: directory-malformed-answer', async () => {
    await own.directory.capPageSize(1);
    try {
      const result = await readGroup(readerFor(own.connection, { limits: { maxPages: 2 } }), own.groupId);
      expect(result.error?.code).toBe('directory-malformed-answer');
      expect(result.error?.message).toMatch(/more than 2 pages/);
    } finally {
      await own.directory.clearFaults();
    }
  });
});
