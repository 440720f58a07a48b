import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SyncRun } from '../../shared/sync/runs.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import { guid } from '../support/ids.js';
import { testServices, useTestEnvironment } from '../support/storage.js';
import { seedEnvironmentUser } from '../support/users.js';
import { connectionCounter } from './directory-support.js';
import { allUsers, queuedRun, setupSyncEnvironment, testSyncStores } from './sync-support.js';

/**
 * A Graph page whose `@odata.nextLink` leaves the tenant's Graph host fails the whole run before
 * anything is written: the users it never got to list are not taken for leavers.
 */
let directory: TestDirectory;

beforeAll(async () => {
  useTestEnvironment();
  directory = await createTestDirectory({ displayName: 'Foreign next links' });
});

afterEach(async () => {
  await directory.clearFaults();
});

/** A manual run through the app's own services (its host policy and directory reader), executed. */
async function runSync(environmentId: string): Promise<SyncRun> {
  const { sync } = testServices();
  const { runId, message } = await queuedRun(sync, environmentId);
  await sync.executeSyncRun(message);
  const run = await testSyncStores().runs.getRun(environmentId, runId);
  if (!run) throw new Error('the run disappeared');
  return run;
}

describe('a nextLink to another host', () => {
  it('fails the run (directory-malformed-answer), contacts nobody there and deactivates nobody', async () => {
    const members = await Promise.all(
      [1, 2, 3].map((i) => directory.addUser({ displayName: `Member ${i}`, mail: `member${i}@nl.test` })),
    );
    const group = await directory.addGroup(
      'Paged',
      members.map((m) => m.id),
    );
    const environmentId = await setupSyncEnvironment({
      directory,
      groups: [group.id],
      deactivationLimit: 100,
    });
    expect((await runSync(environmentId)).counts.added).toBe(3);
    // Users of this directory with access here who are no members: a run that lists the group to
    // its end deactivates them.
    const leavers = await Promise.all(
      [1, 2].map((i) =>
        seedEnvironmentUser({
          environmentId,
          directoryId: directory.id,
          objectId: guid(),
          displayName: `Leaver ${i}`,
          email: `leaver${i}@nl.test`,
          groups: [group.id.toLowerCase()],
          menus: ['Home'],
        }),
      ),
    );

    const foreign = await connectionCounter();
    try {
      await directory.capPageSize(1);
      await directory.admin.spoilNextLinks(directory.id, { kind: 'foreign-origin', origin: foreign.origin });
      const failed = await runSync(environmentId);
      expect(failed.status).toBe('failed');
      expect(failed.error?.code).toBe('directory-malformed-answer');
      expect(failed.error?.message).not.toContain(foreign.origin);
      expect(failed.counts).toMatchObject({ deactivated: 0, added: 0 });
      expect(foreign.count()).toBe(0);
      const users = await allUsers(environmentId);
      expect(users).toHaveLength(5);
      expect(users.filter((u) => !u.active)).toEqual([]);
    } finally {
      await foreign.close();
    }

    // The same run with honest pages deactivates exactly the leavers.
    await directory.clearFaults();
    const honest = await runSync(environmentId);
    expect(honest.status).toBe('succeeded');
    expect(honest.counts).toMatchObject({ deactivated: 2, unchanged: 3 });
    const inactive = (await allUsers(environmentId)).filter((u) => !u.active).map((u) => u.id);
    expect(inactive.sort()).toEqual(leavers.map((l) => l.id).sort());
  });
});
