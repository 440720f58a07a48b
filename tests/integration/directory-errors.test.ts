import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import type { DirectoryConnection } from '../../shared/directory/token.js';
import { connectionCounter, readerFor, readGroup, virtualTime } from './directory-support.js';

/** Each directory error a partner can act on, produced by the real dev directory through the reader. */
describe('directory error codes', () => {
  let directory: TestDirectory;
  let groupId: string;
  let connection: DirectoryConnection;

  beforeAll(async () => {
    directory = await createTestDirectory({ displayName: 'Directory errors' });
    const users = await Promise.all(
      [1, 2, 3].map((i) => directory.addUser({ displayName: `Err ${i}`, mail: `err${i}@contoso.test` })),
    );
    const nested = await directory.addGroup('Nested', [users[2]!.id]);
    groupId = (await directory.addGroup('Errors', [users[0]!.id, users[1]!.id, nested.id])).id;
    connection = { ...directory.tenantConnection('contoso-errors'), name: 'contoso-errors' };
  });

  /** A fresh app registration, so faults set on it touch no other test. */
  async function ownApp(spec: Parameters<TestDirectory['addApplication']>[0] = {}) {
    const app = await directory.addApplication(spec);
    return { ...connection, clientId: app.clientId, clientSecret: app.clientSecret };
  }

  it('reads a group across pages from the tenant’s own host only', async () => {
    await directory.capPageSize(1);
    try {
      await directory.resetRequestLog();
      const result = await readGroup(readerFor(connection), groupId);
      expect(result.users?.map((u) => u.displayName).sort()).toEqual(['Err 1', 'Err 2', 'Err 3']);
      const kinds = new Set((await directory.requestLog()).map((entry) => entry.kind));
      expect([...kinds].sort()).toEqual(['discovery', 'graph', 'token']);
    } finally {
      await directory.capPageSize(null);
    }
  });

  it('a wrong secret: directory-credentials-invalid (AADSTS7000215), the secret never in the message', async () => {
    const result = await readGroup(readerFor({ ...connection, clientSecret: 'wrong-secret-value' }), groupId);
    expect(result.error?.code).toBe('directory-credentials-invalid');
    expect(result.error?.message).toMatch(/tenant "contoso-errors".*create a new client secret/);
    expect(result.error?.message).not.toContain('wrong-secret-value');
    expect(result.error?.message).not.toContain('AADSTS7000215:');
  });

  it('an expired secret: directory-credentials-expired (AADSTS7000222)', async () => {
    const tenant = await ownApp({ clientSecretExpiresAt: '2020-01-01T00:00:00Z' });
    const result = await readGroup(readerFor(tenant), groupId);
    expect(result.error?.code).toBe('directory-credentials-expired');
    expect(result.error?.message).toMatch(
      /client secret of tenant "contoso-errors" has expired: create a new secret/,
    );
    expect(result.error?.message).not.toContain(tenant.clientSecret);
  });

  it('an unknown app: directory-app-not-found (AADSTS700016)', async () => {
    const result = await readGroup(readerFor({ ...connection, clientId: randomUUID() }), groupId);
    expect(result.error?.code).toBe('directory-app-not-found');
  });

  it('an unknown directory: directory-tenant-not-found (AADSTS90002)', async () => {
    const result = await readGroup(readerFor({ ...connection, directoryId: randomUUID() }), groupId);
    expect(result.error?.code).toBe('directory-tenant-not-found');
  });

  it('an app without GroupMember.Read.All: directory-permission-missing (Graph 403)', async () => {
    const tenant = await ownApp({ graphPermissions: [] });
    const result = await readGroup(readerFor(tenant), groupId);
    expect(result.error?.code).toBe('directory-permission-missing');
    expect(result.error?.message).toMatch(/GroupMember\.Read\.All/);
  });

  it('an unknown group: group-not-found, naming the group', async () => {
    const missing = randomUUID();
    const result = await readGroup(readerFor(connection), missing);
    expect(result.error?.code).toBe('group-not-found');
    expect(result.error?.message).toContain(missing);
  });

  it('throttling beyond 5 retries: directory-throttled', async () => {
    const time = virtualTime();
    const reader = readerFor(connection, { clock: time.clock, sleep: time.sleep });
    await reader.readGroup(groupId); // token first, so only Graph is throttled below
    await directory.throttle({ requests: 6, retryAfterSeconds: 0.5 });
    try {
      const result = await readGroup(reader, groupId);
      expect(result.error?.code).toBe('directory-throttled');
      expect(time.sleeps).toEqual([500, 500, 500, 500, 500]);
    } finally {
      await directory.clearFaults();
    }
  });

  it('a throttled token endpoint: directory-throttled', async () => {
    const time = virtualTime();
    await directory.throttle({ requests: 6, retryAfterSeconds: 1, kinds: ['token'] });
    try {
      const reader = readerFor(connection, { ...time, limits: { giveUpAfterMs: 60_000 } });
      const result = await readGroup(reader, groupId);
      expect(result.error?.code).toBe('directory-throttled');
      expect(time.sleeps).toEqual([1000, 1000, 1000, 1000, 1000]);
    } finally {
      await directory.clearFaults();
    }
  });

  it('nothing listening: directory-unreachable', async () => {
    const closed = await connectionCounter();
    await closed.close();
    const result = await readGroup(
      readerFor({ ...connection, authorityHost: closed.origin, graphBaseUrl: closed.origin }),
      groupId,
    );
    expect(result.error?.code).toBe('directory-unreachable');
  });

  it('Graph answering 503 throughout: directory-unreachable; a 500 is not retried', async () => {
    const time = virtualTime();
    const reader = readerFor(connection, time);
    await reader.readGroup(groupId);
    await directory.failRequests({ requests: 1000, status: 503, retryAfterSeconds: null });
    try {
      expect((await readGroup(reader, groupId)).error?.code).toBe('directory-unreachable');
      expect(time.sleeps).toEqual([10, 20, 40, 50, 50]);
      await directory.failRequests({ requests: 1, status: 500 });
      time.sleeps.length = 0;
      expect((await readGroup(reader, groupId)).error?.code).toBe('directory-unreachable');
      expect(time.sleeps).toEqual([]);
    } finally {
      await directory.clearFaults();
    }
  });

  it('a nextLink to another host: directory-malformed-answer, and that host is never contacted', async () => {
    const foreign = await connectionCounter();
    await directory.capPageSize(1);
    await directory.admin.spoilNextLinks(directory.id, { kind: 'foreign-origin', origin: foreign.origin });
    try {
      const result = await readGroup(readerFor(connection), groupId);
      expect(result.error?.code).toBe('directory-malformed-answer');
      expect(result.error?.message).toMatch(/next page link to a host other than its Graph URL/);
      expect(foreign.count()).toBe(0);
    } finally {
      await directory.clearFaults();
      await foreign.close();
    }
  });

  it('a nextLink that repeats: directory-malformed-answer after two pages', async () => {
    await directory.capPageSize(1);
    await directory.admin.spoilNextLinks(directory.id, { kind: 'repeat' });
    try {
      await directory.resetRequestLog();
      const result = await readGroup(readerFor(connection), groupId);
      expect(result.error?.code).toBe('directory-malformed-answer');
      expect(result.error?.message).toMatch(/repeats/);
      const pages = (await directory.requestLog('graph')).filter((r) =>
        r.path.endsWith('microsoft.graph.user'),
      );
      expect(pages).toHaveLength(2);
    } finally {
      await directory.clearFaults();
    }
  });

  it('more pages than the cap: directory-malformed-answer', async () => {
    await directory.capPageSize(1);
    try {
      const result = await readGroup(readerFor(connection, { limits: { maxPages: 2 } }), groupId);
      expect(result.error?.code).toBe('directory-malformed-answer');
      expect(result.error?.message).toMatch(/more than 2 pages/);
    } finally {
      await directory.clearFaults();
    }
  });
});
