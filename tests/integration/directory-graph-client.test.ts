import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import type { DirectoryConnection } from '../../shared/directory/token.js';
import { PAGE_SIZE, USER_SELECT } from '../../shared/directory/reader.js';
import { readerFor, readGroup, virtualTime } from './directory-support.js';

/** A production timeout: on a busy machine the fast one would retry slow answers and log extra requests. */
const PATIENT = { requestTimeoutMs: 30_000 };

/** The reader's requests as the Graph SDK builds them, seen from the dev directory's side. */
describe('Graph requests of the directory reader', () => {
  let directory: TestDirectory;
  let groupId: string;
  let connection: DirectoryConnection;

  beforeAll(async () => {
    directory = await createTestDirectory({ displayName: 'Graph client' });
    const users = await Promise.all(
      [1, 2, 3].map((i) => directory.addUser({ displayName: `Sdk ${i}`, mail: `sdk${i}@contoso.test` })),
    );
    groupId = (
      await directory.addGroup(
        'Sdk',
        users.map((u) => u.id),
      )
    ).id;
    connection = { ...directory.tenantConnection('contoso-sdk'), name: 'contoso-sdk' };
  });

  it('sends exactly the group read and the member pages, each nextLink once, with no other query option', async () => {
    await directory.capPageSize(1);
    try {
      await directory.resetRequestLog();
      const result = await readGroup(readerFor(connection, { limits: PATIENT }), groupId);
      expect(result.users?.map((u) => u.displayName).sort()).toEqual(['Sdk 1', 'Sdk 2', 'Sdk 3']);
      const graph = await directory.requestLog('graph');
      expect(graph.map((r) => `${r.method} ${r.path}`)).toEqual([
        `GET /v1.0/groups/${groupId}`,
        ...[1, 2, 3].map(() => `GET /v1.0/groups/${groupId}/transitiveMembers/microsoft.graph.user`),
      ]);
      const [group, first, ...following] = graph.map((r) => r.query);
      expect(group).toBe('$select=id,displayName');
      expect(first).toBe(`$select=${USER_SELECT}&$top=${PAGE_SIZE}`);
      expect(following).toHaveLength(2);
      for (const query of following) {
        expect(query).toMatch(
          new RegExp(`^\\$select=${USER_SELECT}&\\$top=${PAGE_SIZE}&\\$skiptoken=[^&]+$`),
        );
      }
      expect(new Set(following).size).toBe(2);
      expect(graph.every((r) => r.status === 200)).toBe(true);
    } finally {
      await directory.capPageSize(null);
    }
  });

  it('retries only in the bounded HTTP: six throttled answers are six requests and five waits', async () => {
    const time = virtualTime();
    const reader = readerFor(connection, { ...time, limits: PATIENT });
    await reader.readGroup(groupId);
    await directory.resetRequestLog();
    await directory.throttle({ requests: 6, retryAfterSeconds: 0.5 });
    try {
      const result = await readGroup(reader, groupId);
      expect(result.error?.code).toBe('directory-throttled');
      expect(time.sleeps).toEqual([500, 500, 500, 500, 500]);
      const graph = await directory.requestLog('graph');
      expect(graph.map((r) => r.status)).toEqual([429, 429, 429, 429, 429, 429]);
    } finally {
      await directory.clearFaults();
    }
  });

  it('the token from the msal token source reaches Graph on the tenant’s own (non-Microsoft) host', async () => {
    expect(new URL(connection.graphBaseUrl).hostname).not.toMatch(/microsoft/);
    await directory.resetRequestLog();
    const reader = readerFor(connection, { limits: PATIENT });
    await expect(reader.readGroup(groupId)).resolves.toEqual({ id: groupId, displayName: 'Sdk' });
    await expect(reader.readGroup(groupId)).resolves.toMatchObject({ id: groupId });
    // One token for both reads, and no Graph request refused for a missing bearer.
    expect(await directory.requestLog('token')).toHaveLength(1);
    expect((await directory.requestLog('graph')).map((r) => r.status)).toEqual([200, 200]);
  });
});
