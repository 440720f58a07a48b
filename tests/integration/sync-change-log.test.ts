import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Change } from '../../shared/sync/planner.js';
import { useTestEnvironment } from '../support/storage.js';
import { testSyncStores } from './sync-support.js';

beforeAll(() => {
  useTestEnvironment();
});

/** Enough changes for more than two transactions of 50 pages, non-ASCII names included. */
function manyChanges(count: number): Change[] {
  return Array.from({ length: count }, (_, i) => ({
    userId: randomUUID(),
    objectId: randomUUID(),
    displayName: `Zoë "${i}" ${'名前'.repeat(i % 40)} ${'x'.repeat(i % 90)}`,
    action: i % 5 === 0 ? ('updated' as const) : ('added' as const),
    ...(i % 5 === 0 ? { fields: ['displayName' as const] } : {}),
  }));
}

describe('the change log of a run', () => {
  it('stores every change in order across several transactions, and reads back each page', async () => {
    const { changes } = testSyncStores();
    const runId = `run-${randomUUID()}`;
    const list = manyChanges(24_000);
    const pages = await changes.writeChanges(runId, list);
    expect(pages).toBeGreaterThan(100);
    expect(await changes.readAllChanges(runId)).toEqual(list);
    let token: string | undefined;
    let read = 0;
    for (let page = 0; page < 3; page++) {
      const answer = await changes.readChanges(runId, token);
      expect(answer.changes).toEqual(list.slice(read, read + answer.changes.length));
      read += answer.changes.length;
      token = answer.continuationToken;
    }
  });

  it('a rewrite of a run converges on the latest changes of each page', async () => {
    const { changes } = testSyncStores();
    const runId = `run-${randomUUID()}`;
    await changes.writeChanges(runId, manyChanges(3_000));
    const latest = manyChanges(3_000);
    await changes.writeChanges(runId, latest);
    expect(await changes.readAllChanges(runId)).toEqual(latest);
  });

  it('a rewrite with fewer pages than the write before it leaves none of the old pages', async () => {
    const { changes } = testSyncStores();
    const runId = `run-${randomUUID()}`;
    const before = await changes.writeChanges(runId, manyChanges(3_000));
    const latest = manyChanges(10);
    expect(await changes.writeChanges(runId, latest, before)).toBe(1);
    expect(await changes.readAllChanges(runId)).toEqual(latest);
    expect(await changes.readChanges(runId, undefined)).toEqual({ changes: latest });
  });
});
