import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, USER_SELECT } from '../../shared/directory/reader.js';
import { readerFor, readGroup, useGroupDirectory, virtualTime } from './directory-support.js';

/** A production timeout: on a busy machine the fast one would retry slow answers and log extra requests. */
const PATIENT = { requestTimeoutMs: 30_000 };

/** The reader's requests as the Graph SDK builds them, seen from the dev directory's side. */
describe('Graph requests of the directory reader', () => {
  const own = useGroupDirectory('Graph client', 'contoso-sdk', async (directory) => {
    const users = await directory.addUsers('Sdk', 3);
    return (
      await directory.addGroup(
        'Sdk',
        users.map((u) => u.id),
      )
    ).id;
  });

  it('sends exactly the group read and the member pages, each nextLink once, with no other query option', async () => {
    await own.directory.capPageSize(1);
    try {
      await own.directory.resetRequestLog();
      const result = await readGroup(readerFor(own.connection, { limits: PATIENT }), own.groupId);
      expect(result.users?.map((u) => u.displayName).sort()).toEqual(['Sdk 1', 'Sdk 2', 'Sdk 3']);
      const graph = await own.directory.requestLog('graph');
      expect(graph.map((r) => `${r.method} ${r.path}`)).toEqual([
        `GET /v1.0/groups/${own.groupId}`,
        ...[1, 2, 3].map(() => `GET /v1.0/groups/${own.groupId}/transitiveMembers/microsoft.graph.user`),
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
      await own.directory.capPageSize(null);
    }
  });

  it('retries only in the bounded HTTP: six throttled answers are six requests and five waits', async () => {
    const time = virtualTime();
    const reader = readerFor(own.connection, { ...time, limits: PATIENT });
    await reader.readGroup(own.groupId);
    await own.directory.resetRequestLog();
    await own.directory.throttle({ requests: 6, retryAfterSeconds: 0.5 });
    try {
      const result = await readGroup(reader, own.groupId);
      expect(result.error?.code).toBe('directory-throttled');
      expect(time.sleeps).toEqual([500, 500, 500, 500, 500]);
      const graph = await own.directory.requestLog('graph');
      expect(graph.map((r) => r.status)).toEqual([429, 429, 429, 429, 429, 429]);
    } finally {
      await own.directory.clearFaults();
    }
  });

  it('the token from the msal token source reaches Graph on the tenant’s own (non-Microsoft) host', async () => {
    expect(new URL(own.connection.graphBaseUrl).hostname).not.toMatch(/microsoft/);
    await own.directory.resetRequestLog();
    const reader = readerFor(own.connection, { limits: PATIENT });
    await expect(reader.readGroup(own.groupId)).resolves.toEqual({ id: own.groupId, displayName: 'Sdk' });
    await expect(reader.readGroup(own.groupId)).resolves.toMatchObject({ id: own.groupId });
    // One token for both reads, and no Graph request refused for a missing bearer.
    expect(await own.directory.requestLog('token')).toHaveLength(1);
    expect((await own.directory.requestLog('graph')).map((r) => r.status)).toEqual([200, 200]);
  });
});
