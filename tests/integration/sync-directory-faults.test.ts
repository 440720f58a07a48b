import { beforeAll, describe, expect, it } from 'vitest';
import { useTestEnvironment, testRepositories } from '../support/storage.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import { allUsers, setupSyncEnvironment, syncNow } from './sync-support.js';

beforeAll(() => {
  useTestEnvironment();
});

/** A virtual clock: sleeping advances it, so retry budgets are tested without waiting. */
function virtualTime() {
  let now = Date.parse('2026-11-28T00:00:00Z');
  const sleeps: number[] = [];
  return {
    sleeps,
    reader: {
      clock: { now: () => new Date(now) },
      sleep: (ms: number) => {
        sleeps.push(ms);
        now += ms;
        return Promise.resolve();
      },
    },
  };
}

describe('directory faults (rule 8)', () => {
  let directory: TestDirectory;
  let environmentId: string;
  let groupA: string;
  let groupB: string;

  beforeAll(async () => {
    directory = await createTestDirectory({ displayName: 'Sync faults' });
    const users = await directory.addUsers('Fault', 3);
    groupA = (await directory.addGroup('Fault A', [users[0]!.id, users[1]!.id])).id;
    groupB = (await directory.addGroup('Fault B', [users[2]!.id])).id;
    environmentId = await setupSyncEnvironment({ directory, groups: [groupA, groupB] });
    expect((await syncNow(environmentId)).counts.added).toBe(3);
  });

  async function expectNobodyDeactivated(): Promise<void> {
    const users = await allUsers(environmentId);
    expect(users).toHaveLength(3);
    expect(users.every((u) => u.active)).toBe(true);
  }

  it('reads exactly the Graph calls the sync needs: the minimum number of Graph requests, the token cached', async () => {
    await directory.resetRequestLog();
    const run = await syncNow(environmentId);
    expect(run.counts).toMatchObject({ unchanged: 3 });
    const graph = await directory.graphRequests();
    expect(graph.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      [
        `GET /v1.0/groups/${groupA}`,
        `GET /v1.0/groups/${groupA}/transitiveMembers/microsoft.graph.user`,
        `GET /v1.0/groups/${groupB}`,
        `GET /v1.0/groups/${groupB}/transitiveMembers/microsoft.graph.user`,
      ].sort(),
    );
    for (const request of graph) {
      const query = new URLSearchParams(request.query);
      if (request.path.endsWith('microsoft.graph.user')) {
        expect(query.get('$select')).toBe(
          'id,displayName,givenName,surname,mail,otherMails,userPrincipalName,accountEnabled',
        );
        expect(query.get('$top')).toBe('999');
      } else {
        expect(query.get('$select')).toBe('id,displayName');
      }
      for (const name of query.keys()) expect(['$select', '$top', '$count', '$skiptoken']).toContain(name);
    }
    // The token of the first sync is still valid: no new token request.
    expect(await directory.requestLog('token')).toHaveLength(0);
  });

  it.each([
    [404, 'group-not-found'],
    [403, 'directory-permission-missing'],
  ] as const)('a group answering %s fails the run and deactivates nobody', async (status, code) => {
    await directory.failGroup(groupB, status);
    try {
      const run = await syncNow(environmentId);
      expect(run).toMatchObject({ status: 'failed', error: { code } });
      expect(run.counts.deactivated).toBe(0);
    } finally {
      await directory.failGroup(groupB, null);
    }
    await expectNobodyDeactivated();
  });

  it('a 429 storm within the budget is ridden out, honouring fractional Retry-After', async () => {
    const time = virtualTime();
    await directory.throttle({ requests: 4, retryAfterSeconds: 0.25 });
    const run = await syncNow(environmentId, { reader: time.reader });
    expect(run.status).toBe('succeeded');
    expect(time.sleeps).toEqual([250, 250, 250, 250]);
  });

  it('throttling beyond 5 retries of one request fails the run (directory-throttled), nobody deactivated', async () => {
    const time = virtualTime();
    await directory.throttle({ requests: 6, retryAfterSeconds: 1.5 });
    const run = await syncNow(environmentId, { reader: time.reader });
    await directory.clearFaults();
    expect(run).toMatchObject({ status: 'failed', error: { code: 'directory-throttled' } });
    expect(time.sleeps).toEqual([1500, 1500, 1500, 1500, 1500]);
    await expectNobodyDeactivated();
  });

  it('a persistent 503 without Retry-After backs off exponentially, then fails (directory-unreachable)', async () => {
    const time = virtualTime();
    await directory.failRequests({ requests: 1000, status: 503, retryAfterSeconds: null });
    const run = await syncNow(environmentId, { reader: time.reader });
    await directory.clearFaults();
    expect(run).toMatchObject({ status: 'failed', error: { code: 'directory-unreachable' } });
    expect(time.sleeps).toEqual([1000, 2000, 4000, 8000, 16000]);
    await expectNobodyDeactivated();
  });

  it('a directory failing for more than 5 minutes is given up before the retries run out', async () => {
    const time = virtualTime();
    await directory.failRequests({ requests: 1000, status: 504, retryAfterSeconds: 120 });
    const run = await syncNow(environmentId, { reader: time.reader });
    await directory.clearFaults();
    expect(run).toMatchObject({ status: 'failed', error: { code: 'directory-timeout' } });
    expect(time.sleeps).toEqual([120_000, 120_000]);
  });

  it('a 500 is not retried; it fails the run', async () => {
    const time = virtualTime();
    await directory.failRequests({ requests: 1, status: 500 });
    const run = await syncNow(environmentId, { reader: time.reader });
    await directory.clearFaults();
    expect(run).toMatchObject({ status: 'failed', error: { code: 'directory-unreachable' } });
    expect(time.sleeps).toEqual([]);
    await expectNobodyDeactivated();
  });

  it('a wrong client secret fails the run (directory-credentials-invalid)', async () => {
    const settings = (await testRepositories().environments.get(environmentId))!.externalUsers!;
    const connection = (await testRepositories().tenants.getConnection(settings.tenant))!;
    await testRepositories().tenants.save({
      ...connection,
      owner: 'test-partner',
      clientSecret: 'not-the-secret',
    });
    try {
      const run = await syncNow(environmentId);
      expect(run).toMatchObject({ status: 'failed', error: { code: 'directory-credentials-invalid' } });
    } finally {
      await testRepositories().tenants.save({
        ...connection,
        owner: 'test-partner',
        clientSecret: connection.clientSecret,
      });
    }
    await expectNobodyDeactivated();
    expect((await syncNow(environmentId)).status).toBe('succeeded');
  });
});
