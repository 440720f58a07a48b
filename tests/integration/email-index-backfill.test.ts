import { InvocationContext } from '@azure/functions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_TABLE, toAccessEntity } from '../../shared/users/entities.js';
import { EMAIL_INDEX_TABLE } from '../../shared/users/email-index.js';
import type { EnvironmentUser } from '../../shared/users/model.js';
import { completeEmailIndexes } from '../../scripts/maintenance/email-index.js';
import {
  createTestDirectory,
  mailSinkUrl,
  waitForMail,
  type TestDirectory,
} from '../support/dev-directory.js';
import { uid } from '../support/ids.js';
import { testServices, useTestEnvironment } from '../support/storage.js';
import {
  allUsers,
  dryRunNow,
  setupSyncEnvironment,
  syncNow,
  TableRequestCounter,
  testUsersRepository,
} from './sync-support.js';

/**
 * Access rows stored before the address index existed: a password reset cannot find their users
 * until the environment's index is completed, by its next sync or by the maintenance command.
 */
let directory: TestDirectory;
let groupId: string;
/** An environment synced by this version: its rows are the model for rows an older one wrote. */
let synced: string;
let syncedUsers: EnvironmentUser[];

beforeAll(async () => {
  useTestEnvironment({ SMTP_URL: mailSinkUrl(), MAIL_FROM: 'BizzStream <no-reply@bizzstream.test>' });
  directory = await createTestDirectory({ displayName: 'Email index backfill' });
  const run = uid();
  const users = await Promise.all(
    [1, 2, 3].map((i) =>
      directory.addUser({ displayName: `Old ${i}`, mail: `old${i}-${run}@backfill.test` }),
    ),
  );
  groupId = (
    await directory.addGroup(
      'Old timers',
      users.map((u) => u.id),
    )
  ).id;
  synced = await setupSyncEnvironment({ directory, groups: [groupId] });
  expect((await syncNow(synced)).status).toBe('succeeded');
  syncedUsers = await allUsers(synced);
  expect(syncedUsers).toHaveLength(3);
});

/**
 * A new environment whose access rows are written as an older version wrote them: the same rows,
 * and nothing in the address index.
 */
async function environmentStoredByOldVersion(integration = true): Promise<string> {
  const environmentId = await setupSyncEnvironment({ directory, groups: [groupId], integration });
  const access = await testServices().storage.table(ACCESS_TABLE);
  for (const user of syncedUsers) {
    await access.createEntity(toAccessEntity(environmentId, { ...user, userId: user.id }));
  }
  return environmentId;
}

/** Environments as the repository lists them (this account holds every test file's). */
async function* listOf<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
}

function resetRequest(email: string, environment: string) {
  return testServices().passwordReset.process(
    { email, environment, requestedAt: testServices().clock.now().toISOString() },
    new InvocationContext({ logHandler: () => undefined }),
  );
}

describe('email index backfill', () => {
  it('the next sync completes the index once: the reset mails the user; the run after writes nothing more', async () => {
    const environmentId = await environmentStoredByOldVersion();
    const ada = syncedUsers[0]!;
    expect(await resetRequest(ada.email, environmentId)).toBe('no-active-user');

    // Batches name no table in their URL: one counter per side tells them apart.
    const index = new TableRequestCounter();
    await index.attach([EMAIL_INDEX_TABLE]);
    const rows = new TableRequestCounter();
    await rows.attach(['users', 'useraccess', 'syncruns', 'syncstate', 'syncchanges']);
    const writesOf = (counter: TableRequestCounter) => counter.total((key) => !key.startsWith('GET '));
    try {
      // A dry run writes nothing but its bookkeeping: the index stays as it was.
      await dryRunNow(environmentId);
      expect(writesOf(index)).toBe(0);
      expect(await resetRequest(ada.email, environmentId)).toBe('no-active-user');

      index.reset();
      rows.reset();
      const first = await syncNow(environmentId);
      expect(first.counts).toMatchObject({ unchanged: 3, added: 0, granted: 0, updated: 0 });
      // The three entries (one transaction per partition they fall in) and the environment's mark.
      expect(index.writes()).toMatchObject({ [`PUT ${EMAIL_INDEX_TABLE}`]: 1 });
      expect(writesOf(index)).toBeGreaterThanOrEqual(2);
      expect(writesOf(index)).toBeLessThanOrEqual(4);
      // No access row is written: as any run without a change, its run record and its lease.
      expect(Object.keys(rows.writes()).every((key) => /syncruns|syncstate/.test(key))).toBe(true);
      expect(writesOf(rows)).toBe(6);

      expect(await resetRequest(ada.email.toUpperCase(), environmentId)).toBe('sent');
      expect(await waitForMail(ada.email)).toHaveLength(1);

      index.reset();
      rows.reset();
      const second = await syncNow(environmentId);
      expect(second.counts).toMatchObject({ unchanged: 3, added: 0 });
      expect(writesOf(index)).toBe(0);
      expect(writesOf(rows)).toBe(6);
    } finally {
      await index.detach();
      await rows.detach();
    }
  });

  it('the maintenance command completes environments that are not synced, and writes only what is missing', async () => {
    const environmentId = await environmentStoredByOldVersion(false);
    const bea = syncedUsers[1]!;
    expect(await resetRequest(bea.email, environmentId)).toBe('no-active-user');
    const lines: string[] = [];
    const deps = {
      environments: { list: () => listOf([{ id: environmentId }, { id: synced }]) },
      users: testUsersRepository(),
      log: (line: string) => lines.push(line),
    };

    expect(await completeEmailIndexes(deps)).toEqual({ environments: 2, completed: 1, entriesWritten: 3 });
    expect(lines).toEqual([`${environmentId}: 3 address index entries written`]);
    expect(await resetRequest(bea.email, environmentId)).toBe('sent');
    await waitForMail(bea.email);

    expect(await completeEmailIndexes(deps)).toEqual({ environments: 2, completed: 0, entriesWritten: 0 });

    const counter = new TableRequestCounter();
    await counter.attach([EMAIL_INDEX_TABLE]);
    try {
      const forced = await completeEmailIndexes(deps, { force: true });
      expect(forced).toEqual({ environments: 2, completed: 2, entriesWritten: 0 });
      // Entries present are never written again: only each environment's mark is.
      expect(counter.writes()).toEqual({ [`PUT ${EMAIL_INDEX_TABLE}`]: 2 });
    } finally {
      await counter.detach();
    }
  });
});
