import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useTestEnvironment, testClock, testRepositories } from '../support/storage.js';
import { ofEnvironment, takeMessage } from '../support/queues.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import { isAppError } from '../../shared/errors.js';
import { SYNC_QUEUE } from '../../shared/sync/messages.js';
import type { SyncService } from '../../shared/sync/service.js';
import type { RunsRepository } from '../../shared/sync/runs.js';
import {
  allChanges,
  allUsers,
  drainSyncQueue,
  setupSyncEnvironment,
  syncNow,
  TableRequestCounter,
  testSyncService,
  testSyncStores,
} from './sync-support.js';

let sync: SyncService;
let runs: RunsRepository;

beforeAll(() => {
  useTestEnvironment();
  sync = testSyncService();
  runs = testSyncStores().runs;
});

afterEach(() => {
  testClock.use(undefined);
});

function manual(environmentId: string, confirmDeactivations = false) {
  return sync.requestSync({
    environmentId,
    trigger: 'manual',
    requestedBy: 'test-admin',
    confirmDeactivations,
  });
}

describe('sync runs: one at a time, crashes, bookkeeping (rules 10-12)', () => {
  let directory: TestDirectory;

  beforeAll(async () => {
    directory = await createTestDirectory({ displayName: 'Sync runs' });
  });

  it('answers not-found and integration-disabled before queueing anything', async () => {
    await expect(manual('env-does-not-exist')).rejects.toMatchObject({ code: 'not-found' });
    const group = await directory.addGroup('Off');
    const off = await setupSyncEnvironment({ directory, groups: [group.id], integration: false });
    await expect(manual(off)).rejects.toMatchObject({ code: 'integration-disabled' });
    await testRepositories().environments.save({
      id: 'env-unconfigured-sync',
      name: 'x',
      externalUsersIntegration: true,
    });
    await expect(manual('env-unconfigured-sync')).rejects.toMatchObject({ code: 'integration-disabled' });
  });

  it('two concurrent requests: one run queued, the other refused naming it; two workers on one message run it once', async () => {
    const user = await directory.addUser({ displayName: 'Concurrent' });
    const group = await directory.addGroup('Concurrent', [user.id]);
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    const results = await Promise.allSettled([manual(environmentId), manual(environmentId)]);
    const accepted = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const runId = accepted[0]!.value.runId;
    const error: unknown = refused[0]!.reason;
    expect(isAppError(error, 'sync-in-progress')).toBe(true);
    expect(isAppError(error) && error.extensions).toEqual({ runId });

    const message = await takeMessage(SYNC_QUEUE, ofEnvironment(environmentId));
    const outcomes = await Promise.all([sync.executeSyncRun(message), sync.executeSyncRun(message)]);
    expect(outcomes.sort()).toEqual(['skipped', 'succeeded']);
    expect(await runs.getRun(environmentId, runId)).toMatchObject({
      status: 'succeeded',
      counts: { added: 1 },
    });
    expect(await allUsers(environmentId)).toHaveLength(1);
    // The environment is free again.
    expect((await syncNow(environmentId)).counts.unchanged).toBe(1);
  });

  it('a worker that dies mid-run blocks until its lease expires; the run is marked failed and the next converges', async () => {
    const group = await directory.addGroup('Killed');
    await directory.generateUsers(group.id, 350, { prefix: 'Killed' });
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    const first = await manual(environmentId);
    const message = await takeMessage(SYNC_QUEUE, ofEnvironment(environmentId));
    let batches = 0;
    let reachedDeath!: () => void;
    const died = new Promise<void>((resolve) => (reachedDeath = resolve));
    // The worker "dies" after three batches: it never returns, never releases anything.
    void sync.executeSyncRun(message, {
      concurrency: 1,
      afterBatch: async () => {
        if (++batches === 3) {
          reachedDeath();
          await new Promise(() => {});
        }
      },
    });
    await died;
    expect((await runs.getRun(environmentId, first.runId))!.status).toBe('running');
    await expect(manual(environmentId)).rejects.toMatchObject({ code: 'sync-in-progress' });

    const later = new Date(Date.now() + 10 * 60_000 + 1000);
    testClock.use({ now: () => later });
    const second = await manual(environmentId);
    expect(await sync.getSyncRun(environmentId, first.runId)).toMatchObject({
      status: 'failed',
      error: { code: 'internal' },
    });
    // The dead run recorded its plan before applying it: its history names every user it created.
    const recorded = { changes: await allChanges(sync, environmentId, first.runId) };
    expect(recorded.changes.filter((c) => c.action === 'added')).toHaveLength(350);
    await drainSyncQueue();
    const rerun = (await runs.getRun(environmentId, second.runId))!;
    expect(rerun.status).toBe('succeeded');
    expect(rerun.counts.added).toBe(0);
    expect(rerun.counts.granted + rerun.counts.unchanged).toBe(350);
    expect(rerun.counts.granted).toBeGreaterThan(0);
    const users = await allUsers(environmentId);
    expect(users).toHaveLength(350);
    expect(new Set(users.map((u) => u.objectId)).size).toBe(350);
    expect(users.every((u) => u.active && u.menus.length === 1)).toBe(true);
  });

  it('a worker that crashes mid-run hands the run back to the queue; the retry converges', async () => {
    const group = await directory.addGroup('Crashed');
    await directory.generateUsers(group.id, 250, { prefix: 'Crashed' });
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    const run = await manual(environmentId);
    const message = await takeMessage(SYNC_QUEUE, ofEnvironment(environmentId));
    let batches = 0;
    await expect(
      sync.executeSyncRun(message, {
        concurrency: 1,
        afterBatch: () => {
          if (++batches === 4) throw new Error('worker crashed');
          return Promise.resolve();
        },
      }),
    ).rejects.toThrow('worker crashed');
    expect((await runs.getRun(environmentId, run.runId))!.status).toBe('queued');
    await expect(manual(environmentId)).rejects.toMatchObject({ code: 'sync-in-progress' });
    // The host delivers the message again.
    expect(await sync.executeSyncRun(message)).toBe('succeeded');
    const finished = (await runs.getRun(environmentId, run.runId))!;
    expect(finished.counts.added + finished.counts.granted + finished.counts.unchanged).toBe(250);
    // docs/sync-rules.md, "History of runs and changes": the retry adds to the first attempt's list.
    expect(finished.counts).toMatchObject({ added: 250, granted: 0, unchanged: 0 });
    const listed = { changes: await allChanges(sync, environmentId, run.runId) };
    expect(new Set(listed.changes.map((c) => c.userId)).size).toBe(250);
    expect(listed.changes).toHaveLength(250);
    expect(await allUsers(environmentId)).toHaveLength(250);
  });

  it('rule 11: a run with no change writes nothing but its run record and its lease', async () => {
    const group = await directory.addGroup('No-op');
    await directory.generateUsers(group.id, 120, { prefix: 'Noop' });
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    await syncNow(environmentId);
    const counter = new TableRequestCounter();
    await counter.attach(['users', 'useraccess', 'syncruns', 'syncstate', 'syncchanges']);
    try {
      const run = await syncNow(environmentId);
      expect(run.counts).toMatchObject({ unchanged: 120, added: 0, updated: 0 });
      const writes = counter.writes();
      expect(Object.keys(writes).every((key) => /syncruns|syncstate/.test(key))).toBe(true);
      const total = Object.values(writes).reduce((a, b) => a + b, 0);
      // Run record: created, running, finished. Lease: claimed, started, released.
      expect(total).toBe(6);
    } finally {
      await counter.detach();
    }
  });

  it('a poisoned message marks its run failed and frees the environment', async () => {
    const group = await directory.addGroup('Poison');
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    const run = await manual(environmentId);
    const message = await takeMessage(SYNC_QUEUE, ofEnvironment(environmentId));
    await sync.failPoisonedRun(message);
    expect(await runs.getRun(environmentId, run.runId)).toMatchObject({
      status: 'failed',
      error: { code: 'internal' },
    });
    expect((await syncNow(environmentId)).status).toBe('succeeded');
    // A late redelivery of the poisoned run's message changes nothing.
    expect(await sync.executeSyncRun(message)).toBe('skipped');
  });

  it('the timer queues one periodic run per eligible environment, never with a confirmation', async () => {
    const user = await directory.addUser({ displayName: 'Periodic' });
    const group = await directory.addGroup('Periodic', [user.id]);
    const eligible = await setupSyncEnvironment({
      directory,
      groups: [group.id],
      periodicSync: true,
      deactivationLimit: 0,
    });
    const notPeriodic = await setupSyncEnvironment({ directory, groups: [group.id], periodicSync: false });
    const busy = await setupSyncEnvironment({ directory, groups: [group.id], periodicSync: true });
    const disabled = await setupSyncEnvironment({
      directory,
      groups: [group.id],
      periodicSync: true,
      integration: false,
    });
    const busyRun = await manual(busy);

    const result = await sync.queuePeriodicRuns({ onSchedule: true });
    expect(result.queued).toContain(eligible);
    for (const id of [notPeriodic, busy, disabled]) expect(result.queued).not.toContain(id);
    expect(result.skipped).toContain(busy);
    const [periodic] = await runs.listRuns(eligible, 5);
    expect(periodic).toMatchObject({ trigger: 'periodic', requestedBy: 'schedule', status: 'queued' });
    expect((await runs.listRuns(busy, 5)).map((r) => r.runId)).toEqual([busyRun.runId]);
    // A second tick while the first is queued adds nothing.
    expect((await sync.queuePeriodicRuns({ onSchedule: false })).queued).not.toContain(eligible);
    await drainSyncQueue();
    expect((await runs.getRun(eligible, periodic!.runId))!.status).toBe('succeeded');

    // Periodic runs are never confirmed: with a limit of 0, a removal halts. A tick run by hand
    // (the admin endpoint) queues again within the same schedule slot.
    await directory.removeMembers(group.id, [user.id]);
    await sync.queuePeriodicRuns({ onSchedule: false });
    await drainSyncQueue();
    const [halted] = await runs.listRuns(eligible, 1);
    expect(halted).toMatchObject({ trigger: 'periodic', status: 'halted', haltReason: 'deactivation-limit' });
  });
});

describe('lease renewal', () => {
  it('a lease far shorter than the run is renewed on a timer, even while the worker waits', async () => {
    const directory = await createTestDirectory({ displayName: 'Sync renewals' });
    const group = await directory.addGroup('Renewals');
    await directory.generateUsers(group.id, 200, { prefix: 'Renew' });
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    // Each batch waits longer than the whole lease: only the timer keeps it.
    const run = await syncNow(environmentId, {
      concurrency: 4,
      leaseTiming: { durationMs: 1500, renewEveryMs: 200 },
      afterBatch: () => new Promise((resolve) => setTimeout(resolve, 2000)),
    });
    expect(run).toMatchObject({ status: 'succeeded', counts: { added: 200 } });
  });
});
