/**
 * The live size of what a sync holds, without storage or a directory: the listed users and the plan
 * of an initial sync of N synthetic members in 3 overlapping groups (as bench/sync-bench.ts lists
 * them), and of a no-op rerun (the access rows read back). Measured with forced collections, so it
 * needs `--expose-gc`: `node --expose-gc dist-dev/bench/live-size.js 20000 100000`.
 */
import { randomUUID } from 'node:crypto';
import { collectListedUsers, ListedUsers, planSync, type DirectoryUser } from '../shared/sync/planner.js';
import { StoredAccess } from '../shared/sync/stored-access.js';
import { sharedList } from '../shared/sync/planner.js';

const MIB = 1024 * 1024;
const DIRECTORY = randomUUID();
const GROUPS = [randomUUID(), randomUUID(), randomUUID()];

function liveMiB(): number {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with --expose-gc');
  collect();
  collect();
  return process.memoryUsage().heapUsed / MIB;
}

function users(n: number, prefix: string): DirectoryUser[] {
  return Array.from({ length: n }, (_, i) => ({
    objectId: randomUUID(),
    displayName: `${prefix} user ${i}`,
    email: `${prefix.toLowerCase()}.user${i}@bench.example.com`,
    accountEnabled: true,
  }));
}

function settings(n: number) {
  return { groupsToSync: GROUPS, defaultMenus: ['Home'], deactivationLimit: n };
}

/** Access rows as the sync reads them back after the initial run applied `accessWrites`. */
function readBack(writes: ReturnType<typeof planSync>['accessWrites']): StoredAccess {
  const access = new StoredAccess();
  for (const w of writes) {
    access.add({
      id: w.userId,
      directoryId: w.directoryId,
      objectId: w.objectId,
      // Flat copies, as read rows' strings are not the plan's.
      displayName: JSON.parse(JSON.stringify(w.displayName)) as string,
      email: JSON.parse(JSON.stringify(w.email)) as string,
      active: true,
      groups: sharedList([...w.groups]),
    });
  }
  return access;
}

function measure(n: number): Record<string, number> {
  const sizeA = Math.round(n * 0.5);
  const sizeB = Math.round(n * 0.3);
  const [ga, gb, gc] = GROUPS as [string, string, string];
  const base = liveMiB();
  // As the directory pages: group B lists A's users again (nested), each page dropped once folded.
  const listed = new ListedUsers();
  const a = users(sizeA, 'A');
  collectListedUsers(listed, DIRECTORY, ga, a);
  collectListedUsers(
    listed,
    DIRECTORY,
    gb,
    a.map((u) => ({ ...u })),
  );
  collectListedUsers(listed, DIRECTORY, gb, users(sizeB, 'B'));
  collectListedUsers(listed, DIRECTORY, gc, users(n - sizeA - sizeB, 'C'));
  a.length = 0;
  const afterListed = liveMiB();
  const now = new Date();
  const initial = planSync({
    directoryId: DIRECTORY,
    settings: settings(n),
    confirmDeactivations: false,
    listed,
    access: new Map(),
    identities: new Map(),
    now,
  });
  const afterPlan = liveMiB();
  const access = readBack(initial.accessWrites);
  const afterAccess = liveMiB();
  const noop = planSync({
    directoryId: DIRECTORY,
    settings: settings(n),
    confirmDeactivations: false,
    listed,
    access,
    identities: new Map(),
    now,
  });
  const afterNoop = liveMiB();
  const result = {
    n,
    listedMiB: afterListed - base,
    initialPlanMiB: afterPlan - afterListed,
    accessRowsMiB: afterAccess - afterPlan,
    noopPlanMiB: afterNoop - afterAccess,
    writes: initial.accessWrites.length + initial.userWrites.length + noop.accessWrites.length,
  };
  return result;
}

for (const arg of process.argv.slice(2)) {
  const figures = measure(Number(arg));
  process.stdout.write(
    `${Object.entries(figures)
      .map(([key, value]) => `${key} ${Number.isInteger(value) ? value : value.toFixed(1)}`)
      .join(', ')}\n`,
  );
}
