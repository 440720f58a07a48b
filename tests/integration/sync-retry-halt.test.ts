import { beforeAll, describe, expect, it } from 'vitest';
import { SYNC_QUEUE } from '../../shared/sync/messages.js';
import type { SyncService } from '../../shared/sync/service.js';
import { useTestEnvironment } from '../support/storage.js';
import { ofEnvironment, takeMessage } from '../support/queues.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import {
  allChanges,
  allUsers,
  setupSyncEnvironment,
  syncNow,
  testSyncService,
  testSyncStores,
} from './sync-support.js';

/**
 * A run whose first attempt died after applying part of its plan, and whose directory changed
 * before the retry: the retry answers for the whole run. Its deactivation limit counts what the
 * first attempt deactivated (docs/sync-rules.md, "Deactivation limit"), and when it halts, its
 * history still lists what the first attempt applied ("History of runs and changes").
 */
let directory: TestDirectory;
let sync: SyncService;

beforeAll(async () => {
  useTestEnvironment();
  directory = await createTestDirectory({ displayName: 'Retry halt' });
  sync = testSyncService();
});

/** Requests a manual run and runs its first attempt, which dies after its first access batch. */
async function firstAttemptDies(environmentId: string): Promise<{ runId: string; message: unknown }> {
  const { runId } = await sync.requestSync({
    environmentId,
    trigger: 'manual',
    requestedBy: 'test-admin',
    confirmDeactivations: false,
  });
  const message = await takeMessage(SYNC_QUEUE, ofEnvironment(environmentId));
  await expect(
    sync.executeSyncRun(message, {
      concurrency: 1,
      afterBatch: (info) =>
        info.table === 'access' ? Promise.reject(new Error('worker died')) : Promise.resolve(),
    }),
  ).rejects.toThrow('worker died');
  return { runId, message };
}

describe('a retry after the directory changed', () => {
  it('halts when its deactivations and the first attempt’s together exceed the limit', async () => {
    const members = await directory.addUsers('Limit', 4);
    const group = await directory.addGroup(
      'Limit',
      members.map((u) => u.id),
    );
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id], deactivationLimit: 1 });
    await syncNow(environmentId);
    await directory.removeMembers(group.id, [members[0]!.id]);
    const { runId, message } = await firstAttemptDies(environmentId);
    expect((await allUsers(environmentId)).filter((u) => !u.active)).toHaveLength(1);

    // One more leaves: alone within the limit, with the first attempt's one beyond it.
    await directory.removeMembers(group.id, [members[1]!.id]);
    expect(await sync.executeSyncRun(message)).toBe('halted');

    const run = await testSyncStores().runs.getStoredRun(environmentId, runId);
    expect(run).toMatchObject({ status: 'halted', haltReason: 'deactivation-limit' });
    // Two in its history; the first already applied, one held back.
    expect(run?.counts.deactivated).toBe(2);
    expect(run?.heldBack).toBe(1);
    // Nothing more applied: the second member keeps access until a confirmed run.
    const stillActive = (await allUsers(environmentId)).filter((u) => u.active).map((u) => u.objectId);
    expect(stillActive).toContain(members[1]!.id.toLowerCase());
    expect((await syncNow(environmentId, { confirmDeactivations: true })).counts.deactivated).toBe(1);
  });

  it('halted, still lists every change the first attempt applied, and its new identities as added', async () => {
    const members = await directory.addUsers('History', 3);
    const group = await directory.addGroup(
      'History',
      members.map((u) => u.id),
    );
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id], deactivationLimit: 1 });
    await syncNow(environmentId);
    const newcomers = await directory.generateUsers(group.id, 60, { prefix: 'HistoryNew' });
    const { runId, message } = await firstAttemptDies(environmentId);
    const appliedIds = (await allUsers(environmentId))
      .filter((u) => u.active && !members.some((m) => m.id.toLowerCase() === u.objectId))
      .map((u) => u.id);
    expect(appliedIds.length).toBeGreaterThan(0);
    expect(appliedIds.length).toBeLessThan(60);

    await directory.removeMembers(group.id, [members[0]!.id, members[1]!.id]);
    expect(await sync.executeSyncRun(message)).toBe('halted');

    const run = await testSyncStores().runs.getRun(environmentId, runId);
    const changes = await allChanges(sync, environmentId, runId);
    const actionOf = new Map(changes.map((c) => [c.userId, c.action]));
    expect(appliedIds.filter((id) => actionOf.get(id) !== 'added')).toEqual([]);
    // This run created all the identities: it records them as added, none as granted.
    expect(run?.counts).toMatchObject({ added: newcomers.count, granted: 0, deactivated: 2 });
    expect(changes).toHaveLength(newcomers.count + 2);

    const confirmed = await syncNow(environmentId, { confirmDeactivations: true });
    expect(confirmed.counts).toMatchObject({ added: 0, granted: newcomers.count - appliedIds.length });
  });
});
