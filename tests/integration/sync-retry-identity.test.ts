import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userIdOf } from '../../shared/users/identity.js';
import { SYNC_QUEUE } from '../../shared/sync/messages.js';
import type { Change } from '../../shared/sync/planner.js';
import type { SyncService } from '../../shared/sync/service.js';
import { testClock, useTestEnvironment } from '../support/storage.js';
import { ofEnvironment, takeMessage } from '../support/queues.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import {
  allChanges,
  allUsers,
  setupSyncEnvironment,
  testSyncService,
  testSyncStores,
  testUsersRepository,
} from './sync-support.js';

/**
 * docs/sync-rules.md, "One `added` per identity", when an attempt stops at the worst moment: it
 * recorded its plan (`added`), lost the creation of the user row to another run, and died before
 * recording `granted`. The retry finds that record and the row another run created.
 */
let directory: TestDirectory;
let sync: SyncService;

beforeAll(async () => {
  useTestEnvironment();
  directory = await createTestDirectory({ displayName: 'Retry identity' });
  sync = testSyncService();
});

afterAll(() => testClock.use(undefined));

async function manual(environmentId: string): Promise<string> {
  const run = await sync.requestSync({
    environmentId,
    trigger: 'manual',
    requestedBy: 'test-admin',
    confirmDeactivations: false,
  });
  return run.runId;
}

/**
 * The state an attempt leaves when it dies after recording its plan: its changes stored, the run
 * handed back to the queue. `created` says which run created the identities' user rows meanwhile.
 */
async function attemptDiedAfterRecording(
  environmentId: string,
  runId: string,
  members: readonly { id: string; displayName: string }[],
  created: { by: string } | undefined,
): Promise<void> {
  const { runs, changes } = testSyncStores();
  const recorded: Change[] = members.map((m) => ({
    userId: userIdOf(directory.id, m.id),
    objectId: m.id,
    displayName: m.displayName,
    action: 'added',
  }));
  const changePages = await changes.writeChanges(runId, recorded);
  const run = await runs.getStoredRun(environmentId, runId);
  await runs.saveRun({
    ...run!,
    changePages,
    counts: { ...run!.counts, added: recorded.length },
  });
  if (created) {
    await testUsersRepository().createUsers(
      directory.id,
      recorded.map((c) => ({
        userId: c.userId,
        objectId: c.objectId,
        displayName: c.displayName,
        email: '',
      })),
      created.by,
    );
  }
}

describe('a retry after an attempt died between recording and re-recording', () => {
  it('records `granted` where another run created the identity, `added` where this run did', async () => {
    const lost = await directory.addUser({ displayName: 'Lost race' });
    const won = await directory.addUser({ displayName: 'Won race' });
    const fresh = await directory.addUser({ displayName: 'Not yet created' });
    const group = await directory.addGroup('Retry identity', [lost.id, won.id, fresh.id]);
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    const runId = await manual(environmentId);

    // The other run created `lost`; this run's own dead attempt created `won`; nobody `fresh`.
    await attemptDiedAfterRecording(environmentId, runId, [lost], { by: 'another-run' });
    await attemptDiedAfterRecording(environmentId, runId, [lost, won], { by: runId });
    await attemptDiedAfterRecording(environmentId, runId, [lost, won, fresh], undefined);
    // The first call above created `lost` for another run; the second met it and left it so.
    expect(await testUsersRepository().creatorsOf(directory.id, [lost.id, won.id])).toEqual(
      new Map([
        [lost.id.toLowerCase(), 'another-run'],
        [won.id.toLowerCase(), runId],
      ]),
    );

    const message = await takeMessage(SYNC_QUEUE, ofEnvironment(environmentId));
    expect(await sync.executeSyncRun(message)).toBe('succeeded');

    const byObject = new Map((await allChanges(sync, environmentId, runId)).map((c) => [c.objectId, c]));
    expect(byObject.size).toBe(3);
    expect(byObject.get(lost.id)?.action).toBe('granted');
    expect(byObject.get(won.id)?.action).toBe('added');
    expect(byObject.get(fresh.id)?.action).toBe('added');
    expect(await sync.getSyncRun(environmentId, runId)).toMatchObject({
      status: 'succeeded',
      counts: { added: 2, granted: 1 },
    });
    const users = await allUsers(environmentId);
    expect(users.map((u) => u.objectId).sort()).toEqual([lost.id, won.id, fresh.id].sort());
    expect(users.every((u) => u.active)).toBe(true);
  });

  it('two environments: exactly one `added` for an identity, even when the loser died before re-recording', async () => {
    const shared = await directory.addUser({ displayName: 'Shared identity' });
    const group = await directory.addGroup('Shared retry', [shared.id]);
    const first = await setupSyncEnvironment({ directory, groups: [group.id] });
    const second = await setupSyncEnvironment({ directory, groups: [group.id] });
    const firstRun = await manual(first);
    const secondRun = await manual(second);

    // The second run planned `added` and recorded it; the first run then created the identity.
    await attemptDiedAfterRecording(second, secondRun, [shared], undefined);
    expect(await sync.executeSyncRun(await takeMessage(SYNC_QUEUE, ofEnvironment(first)))).toBe('succeeded');
    expect(await sync.executeSyncRun(await takeMessage(SYNC_QUEUE, ofEnvironment(second)))).toBe('succeeded');

    const actions = [
      ...(await allChanges(sync, first, firstRun)),
      ...(await allChanges(sync, second, secondRun)),
    ].map((c) => c.action);
    expect(actions.sort()).toEqual(['added', 'granted']);
  });
});
