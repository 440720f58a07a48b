import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../shared/clock.js';
import { SYNC_QUEUE } from '../../shared/sync/messages.js';
import type { SyncService } from '../../shared/sync/service.js';
import { StorageAccount } from '../../shared/storage/account.js';
import { testClock, testConnectionString, useTestEnvironment } from '../support/storage.js';
import { ofEnvironment, takeMessage } from '../support/queues.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import { setupSyncEnvironment, syncInstance } from './sync-support.js';

/**
 * Two instances tick for the same schedule occurrence, and the run the first one queued has ended
 * before the second ticks: the second must not queue another periodic run for that occurrence.
 */
let directory: TestDirectory;

/** An app instance of its own (own storage clients), on this worker's account, under `schedule`. */
function instance(schedule: string): SyncService {
  return syncInstance(
    new StorageAccount({ kind: 'connection-string', connectionString: testConnectionString() }),
    schedule,
  );
}

/** A clock stopped `offsetMs` after the next whole `periodMs` of real time (leases stay near today). */
function at(periodMs: number, offsetMs: number): Clock {
  const boundary = Math.ceil(Date.now() / periodMs) * periodMs;
  return { now: () => new Date(boundary + offsetMs) };
}
const QUARTER = 15 * 60_000;
const HOUR = 60 * 60_000;

beforeAll(async () => {
  useTestEnvironment();
  directory = await createTestDirectory({ displayName: 'Periodic slots' });
});

afterEach(() => testClock.use(undefined));

describe('one periodic run per environment per schedule slot, across instances', () => {
  it('a run that ends between two instances’ ticks of one slot is not queued again; the next slot queues', async () => {
    const user = await directory.addUser({ displayName: 'Slot member' });
    const group = await directory.addGroup('Slots', [user.id]);
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id], periodicSync: true });
    const schedule = '0 */15 * * * *';
    const [a, b] = [instance(schedule), instance(schedule)];

    testClock.use(at(QUARTER, 200));
    expect((await a.queuePeriodicRuns({ onSchedule: true })).queued).toContain(environmentId);
    // The run executes and ends before the other instance's tick of the same occurrence.
    expect(await a.executeSyncRun(await takeMessage(SYNC_QUEUE, ofEnvironment(environmentId)))).toBe(
      'succeeded',
    );
    testClock.use(at(QUARTER, 3_000));
    const late = await b.queuePeriodicRuns({ onSchedule: true });
    expect(late.queued).not.toContain(environmentId);
    expect(late.skipped).toContain(environmentId);
    // A tick that fires a moment early belongs to the coming slot, not to the one that had its run.
    testClock.use(at(QUARTER, QUARTER - 1_500));
    expect((await b.queuePeriodicRuns({ onSchedule: true })).queued).toContain(environmentId);
    expect(await b.executeSyncRun(await takeMessage(SYNC_QUEUE, ofEnvironment(environmentId)))).toBe(
      'succeeded',
    );
    testClock.use(at(QUARTER, QUARTER + 1_000));
    expect((await a.queuePeriodicRuns({ onSchedule: true })).queued).not.toContain(environmentId);

    const runs = await a.listSyncRuns(environmentId, 10);
    expect(runs.map((r) => r.trigger)).toEqual(['periodic', 'periodic']);
    // A manual request is never held to the slot.
    await expect(
      a.requestSync({ environmentId, trigger: 'manual', requestedBy: 'admin', confirmDeactivations: false }),
    ).resolves.toMatchObject({ status: 'queued' });
    await takeMessage(SYNC_QUEUE, ofEnvironment(environmentId));
  });

  it('a tick that finds the environment busy leaves the slot to the next instance’s tick', async () => {
    const group = await directory.addGroup('Busy slot');
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id], periodicSync: true });
    const [a, b] = [instance('0 0 * * * *'), instance('0 0 * * * *')];
    testClock.use(at(HOUR, 100));
    const manualRun = await a.requestSync({
      environmentId,
      trigger: 'manual',
      requestedBy: 'admin',
      confirmDeactivations: false,
    });
    expect((await a.queuePeriodicRuns({ onSchedule: true })).skipped).toContain(environmentId);
    expect(await a.executeSyncRun(await takeMessage(SYNC_QUEUE, ofEnvironment(environmentId)))).toBe(
      'succeeded',
    );
    testClock.use(at(HOUR, 2_000));
    expect((await b.queuePeriodicRuns({ onSchedule: true })).queued).toContain(environmentId);
    const runs = await a.listSyncRuns(environmentId, 10);
    expect(runs.map((r) => r.runId)).toHaveLength(2);
    expect(runs.map((r) => r.runId)).toContain(manualRun.runId);
    await takeMessage(SYNC_QUEUE, ofEnvironment(environmentId));
  });
});
