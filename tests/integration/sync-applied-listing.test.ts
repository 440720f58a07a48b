import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useTestEnvironment, testClock } from '../support/storage.js';
import { createTestDirectory, generatedUserId, type TestDirectory } from '../support/dev-directory.js';
import { FULL_READ_EVERY_MS } from '../../shared/sync/applied-listing.js';
import type { SyncRun } from '../../shared/sync/runs.js';
import {
  allUsers,
  byObjectId,
  dryRunNow,
  periodicNow,
  queuedRun,
  setupSyncEnvironment,
  syncNow,
  TableRequestCounter,
  testSyncService,
  testSyncStores,
  testUsersRepository,
} from './sync-support.js';

let directory: TestDirectory;

beforeAll(async () => {
  useTestEnvironment();
  directory = await createTestDirectory({ displayName: 'Applied listing' });
});

afterEach(() => {
  testClock.use(undefined);
});

/** Changes a user's access row behind the sync's back, as only a hand on the storage could. */
async function tamper(environmentId: string, objectId: string): Promise<void> {
  const user = byObjectId(await allUsers(environmentId)).get(objectId);
  if (!user) throw new Error('no such user');
  await testUsersRepository().writeAccessBatch(
    environmentId,
    [{ ...user, userId: user.id, displayName: 'Changed by hand' }],
    'merge',
    { indexed: true },
  );
}

async function nameOf(environmentId: string, objectId: string): Promise<string | undefined> {
  return byObjectId(await allUsers(environmentId)).get(objectId)?.displayName;
}

/** A run, with the access-row reads it sent. */
async function counted(run: () => Promise<SyncRun>): Promise<{ run: SyncRun; accessReads: number }> {
  const counter = new TableRequestCounter();
  await counter.attach(['useraccess']);
  try {
    const finished = await run();
    return { run: finished, accessReads: counter.counts.get('GET useraccess') ?? 0 };
  } finally {
    await counter.detach();
  }
}

describe('a periodic run with nothing new reads no access rows (docs/sync-rules.md)', () => {
  async function syncedEnvironment(size: number, prefix: string) {
    const group = await directory.addGroup(prefix);
    const { block } = await directory.generateUsers(group.id, size, { prefix });
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id], periodicSync: true });
    expect((await syncNow(environmentId)).counts.added).toBe(size);
    return { group, environmentId, objectId: (i: number) => generatedUserId(block, i) };
  }

  it('counts every row unchanged without reading them; a manual run reads and repairs them', async () => {
    const { environmentId, objectId } = await syncedEnvironment(40, 'Trusted');
    await tamper(environmentId, objectId(3));
    const logged: string[] = [];
    const log = (message: string) => void logged.push(message);
    const trusted = await counted(() => periodicNow(environmentId, { log }));
    expect(logged).toContain('sync run found the listing the last run applied; no access rows read');
    expect(trusted.run.status).toBe('succeeded');
    expect(trusted.run.counts).toMatchObject({ unchanged: 40, added: 0, updated: 0, deactivated: 0 });
    expect(trusted.accessReads).toBe(0);
    // Not read, so not repaired: only a full read sees a change made outside the sync.
    expect(await nameOf(environmentId, objectId(3))).toBe('Changed by hand');
    const manual = await counted(() => syncNow(environmentId));
    expect(manual.accessReads).toBeGreaterThan(0);
    expect(manual.run.counts).toMatchObject({ updated: 1, unchanged: 39 });
    expect(await nameOf(environmentId, objectId(3))).toBe('Trusted 4');
  });

  it('a change in the directory sends a periodic run to the full read, which applies it', async () => {
    const { environmentId, objectId } = await syncedEnvironment(30, 'Renamed');
    await directory.renameUser(objectId(0), 'Renamed in the directory');
    await tamper(environmentId, objectId(1));
    const changed = await counted(() => periodicNow(environmentId));
    expect(changed.accessReads).toBeGreaterThan(0);
    expect(changed.run.counts).toMatchObject({ updated: 2, unchanged: 28 });
    expect(await nameOf(environmentId, objectId(0))).toBe('Renamed in the directory');
    // The listing it applied is trusted by the next one.
    const next = await counted(() => periodicNow(environmentId));
    expect([next.accessReads, next.run.counts.unchanged]).toEqual([0, 30]);
  });

  it('a day after the last full read, a periodic run reads every row again', async () => {
    const { environmentId, objectId } = await syncedEnvironment(20, 'Daily');
    await tamper(environmentId, objectId(5));
    const later = new Date(Date.now() + FULL_READ_EVERY_MS + 60_000);
    testClock.use({ now: () => later });
    const daily = await counted(() => periodicNow(environmentId));
    expect(daily.accessReads).toBeGreaterThan(0);
    expect(daily.run.counts).toMatchObject({ updated: 1, unchanged: 19 });
    expect(await nameOf(environmentId, objectId(5))).toBe('Daily 6');
  });

  it('a run that stops after its first write leaves no listing to trust: the next one reads and converges', async () => {
    const { group, environmentId } = await syncedEnvironment(10, 'Halfway');
    const { block } = await directory.generateUsers(group.id, 250, { prefix: 'Later' });
    const sync = testSyncService();
    const { runId, message } = await queuedRun(sync, environmentId, 'periodic');
    let batches = 0;
    const crash = (): Promise<void> =>
      ++batches === 1 ? Promise.reject(new Error('worker crashed')) : Promise.resolve();
    await expect(sync.executeSyncRun(message, { concurrency: 1, afterBatch: crash })).rejects.toThrow(
      'worker crashed',
    );
    expect((await allUsers(environmentId)).length).toBeLessThan(260);
    // The host delivers the message again: the retry reads every row and finishes the run.
    const retried = await counted(async () => {
      expect(await sync.executeSyncRun(message)).toBe('succeeded');
      return (await testSyncStores().runs.getRun(environmentId, runId))!;
    });
    expect(retried.accessReads).toBeGreaterThan(0);
    const users = byObjectId(await allUsers(environmentId));
    expect([users.size, users.has(generatedUserId(block, 249))]).toEqual([260, true]);
    // A later periodic run finds the retry's listing and trusts it.
    expect((await counted(() => periodicNow(environmentId))).accessReads).toBe(0);
  });

  it('a dry run leaves no listing to trust: the periodic run after it reads and applies the change', async () => {
    const { environmentId, objectId } = await syncedEnvironment(12, 'Dry');
    await directory.renameUser(objectId(2), 'Renamed before the dry run');
    const dry = await dryRunNow(environmentId);
    expect(dry).toMatchObject({ status: 'succeeded', dryRun: true, counts: { updated: 1 } });
    const periodic = await counted(() => periodicNow(environmentId));
    expect(periodic.accessReads).toBeGreaterThan(0);
    expect(periodic.run.counts).toMatchObject({ updated: 1, unchanged: 11 });
    expect(await nameOf(environmentId, objectId(2))).toBe('Renamed before the dry run');
  });

  it('a halted run leaves no listing to trust: the next periodic run reads and halts again', async () => {
    const group = await directory.addGroup('Halted');
    const { block } = await directory.generateUsers(group.id, 12, { prefix: 'Halted' });
    const environmentId = await setupSyncEnvironment({
      directory,
      groups: [group.id],
      periodicSync: true,
      deactivationLimit: 1,
    });
    await syncNow(environmentId);
    await directory.removeMembers(
      group.id,
      [0, 1, 2].map((i) => generatedUserId(block, i)),
    );
    for (let attempt = 0; attempt < 2; attempt++) {
      const halted = await counted(() => periodicNow(environmentId));
      expect(halted.run).toMatchObject({ status: 'halted', counts: { deactivated: 3 } });
      expect(halted.accessReads).toBeGreaterThan(0);
    }
    expect((await allUsers(environmentId)).every((user) => user.active)).toBe(true);
  });
});
