import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestEnvironment } from '../support/storage.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import {
  allUsers,
  attachTablePolicy,
  byObjectId,
  periodicNow,
  setupSyncEnvironment,
  syncNow,
} from './sync-support.js';

/**
 * Access rows that arrive once the directory has been read are compared as they arrive, and those
 * the listing leaves unchanged are not kept (shared/sync/arriving-access.ts). Here every page of
 * access rows is held back until the directory's few pages are surely in, so that every row takes
 * that path: runs must come out exactly as when rows are read first.
 */
let directory: TestDirectory;

beforeAll(async () => {
  useTestEnvironment();
  directory = await createTestDirectory({ displayName: 'Settled rows' });
});

/** `run`, with every read of access rows answered only after `ms`. */
async function withAccessReadsHeld<T>(ms: number, run: () => Promise<T>): Promise<T> {
  const release = await attachTablePolicy(['useraccess'], async (request, next) => {
    if (request.method === 'GET') await sleep(ms);
    return next(request);
  });
  try {
    return await run();
  } finally {
    await release();
  }
}

const ZERO = { added: 0, granted: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: 0 };

describe('access rows settled as they arrive (docs/sync-rules.md: the rules hold whatever the order)', () => {
  it('a change run and a no-op whose rows all arrive after the directory apply and count exactly', async () => {
    const users = await directory.addUsers('Settle', 6);
    const ids = users.map((u) => u.id);
    const [u1, u2, u3, u4, u5, u6] = ids as [string, string, string, string, string, string];
    const main = await directory.addGroup('Settle main', ids);
    const extra = await directory.addGroup('Settle extra', [u2]);
    const environmentId = await setupSyncEnvironment({ directory, groups: [main.id, extra.id] });
    expect((await syncNow(environmentId)).counts).toEqual({ ...ZERO, added: 6 });

    await directory.renameUser(u1, 'Settle renamed');
    await directory.removeMembers(main.id, [u3]);
    await directory.disableUser(u4);
    await directory.addMembers(extra.id, [u5]);
    const [newcomer] = await directory.addUsers('Settle new', 1);
    await directory.addMembers(main.id, [newcomer!.id]);

    const changed = await withAccessReadsHeld(300, () =>
      syncNow(environmentId, { confirmDeactivations: true }),
    );
    expect(changed.status).toBe('succeeded');
    // Unchanged: u2 and u6; u5 gained a group, u1 a name.
    expect(changed.counts).toEqual({ ...ZERO, added: 1, updated: 2, deactivated: 2, unchanged: 2 });
    const after = byObjectId(await allUsers(environmentId));
    expect(after.get(u1)).toMatchObject({ active: true, displayName: 'Settle renamed' });
    expect(after.get(u2)).toMatchObject({ active: true, groups: [main.id, extra.id] });
    expect(after.get(u3)).toMatchObject({ active: false, deactivationReason: 'removed-from-group' });
    expect(after.get(u4)).toMatchObject({ active: false, deactivationReason: 'account-disabled' });
    expect(after.get(u5)).toMatchObject({ active: true, groups: [main.id, extra.id] });
    expect(after.get(u6)).toMatchObject({ active: true, groups: [main.id] });
    expect(after.get(newcomer!.id)).toMatchObject({ active: true, menus: ['Home'] });

    const noOp = await withAccessReadsHeld(300, () => syncNow(environmentId));
    expect(noOp.counts).toEqual({ ...ZERO, unchanged: 7 });
    // The listing it stores counts the rows it settled: a periodic run that trusts it says so.
    expect((await periodicNow(environmentId)).counts).toEqual({ ...ZERO, unchanged: 7 });
  });
});
