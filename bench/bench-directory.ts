import type { DevDirectoryAdmin } from '../devdir/admin.js';

export type BenchDirectory = Awaited<ReturnType<DevDirectoryAdmin['createDirectory']>>;
type Generated = Awaited<ReturnType<DevDirectoryAdmin['generateUsers']>>;

/** The directory every benchmark syncs: N members in three overlapping groups, one nested. */
export interface SeededDirectory {
  readonly directory: BenchDirectory;
  readonly groups: { readonly a: string; readonly b: string; readonly c: string };
  /** Members of A (half), those added to B besides A (30 %), and of C (the rest). */
  readonly sizeA: number;
  readonly sizeB: number;
  readonly sizeC: number;
  /** The generated blocks of A and C, whose users the 1 % change renames or removes. */
  readonly blockA: Generated;
  readonly blockC: Generated;
}

/** B holds A as a member, so A's users are listed twice: the sync must fold them into one. */
export async function seedBenchDirectory(admin: DevDirectoryAdmin, n: number): Promise<SeededDirectory> {
  const directory = await admin.createDirectory({ displayName: `Bench ${n}` });
  const sizeA = Math.round(n * 0.5);
  const sizeB = Math.round(n * 0.3);
  const sizeC = n - sizeA - sizeB;
  const groupA = await admin.addGroup(directory.id, { displayName: 'Bench A' });
  const groupB = await admin.addGroup(directory.id, { displayName: 'Bench B', members: [groupA.id] });
  const groupC = await admin.addGroup(directory.id, { displayName: 'Bench C' });
  const blockA = await admin.generateUsers(directory.id, groupA.id, sizeA, { prefix: 'A' });
  await admin.generateUsers(directory.id, groupB.id, sizeB, { prefix: 'B' });
  const blockC = await admin.generateUsers(directory.id, groupC.id, sizeC, { prefix: 'C' });
  return {
    directory,
    groups: { a: groupA.id, b: groupB.id, c: groupC.id },
    sizeA,
    sizeB,
    sizeC,
    blockA,
    blockC,
  };
}

/** What a tenant needs of the bench directory, for an environment that uses it. */
export function tenantLink(directory: BenchDirectory, environmentId: string) {
  const app = directory.applications[0]!;
  return {
    directoryId: directory.id,
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    environments: [environmentId],
    authorityHost: directory.authorityHost,
    graphBaseUrl: directory.graphBaseUrl,
  };
}
