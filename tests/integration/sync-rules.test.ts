import { beforeAll, describe, expect, it } from 'vitest';
import { useTestEnvironment } from '../support/storage.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import { userIdOf, type UsersRepository } from '../../shared/users/repository.js';
import type { SyncService } from '../../shared/sync/service.js';
import {
  allUsers,
  byObjectId,
  configureSync,
  setupSyncEnvironment,
  syncNow,
  testSyncService,
  testUsersRepository,
} from './sync-support.js';

let repository: UsersRepository;
let sync: SyncService;

beforeAll(() => {
  useTestEnvironment();
  repository = testUsersRepository();
  sync = testSyncService();
});

/**
 * Every rule of docs/sync-rules.md against Azurite and the dev directory, through the real queue
 * worker.
 */
describe('sync rules (dev directory + Azurite)', () => {
  let directory: TestDirectory;

  beforeAll(async () => {
    directory = await createTestDirectory({ displayName: 'Sync rules' });
  });

  it('rules 1, 3, 6: creates members of nested groups, guests by otherMails, skips disabled and non-users', async () => {
    const ann = await directory.addUser({ displayName: 'Ann Member', mail: 'ann@contoso.test' });
    const nested = await directory.addUser({ displayName: 'Ned Nested', mail: null, otherMails: [] });
    const guest = await directory.addUser({
      displayName: 'Gus Guest',
      mail: null,
      otherMails: ['gus@fabrikam.test'],
      userPrincipalName: 'gus_fabrikam.test#EXT#@contoso.onmicrosoft.com',
    });
    const bareGuest = await directory.addUser({
      displayName: 'Bea Bare Guest',
      mail: null,
      otherMails: [],
      userPrincipalName: 'bea_fabrikam.test#EXT#@contoso.onmicrosoft.com',
    });
    const disabled = await directory.addUser({
      displayName: 'Dee Disabled',
      mail: 'dee@contoso.test',
      accountEnabled: false,
    });
    const device = await directory.addDevice('Laptop 1');
    const inner = await directory.addGroup('Inner', [nested.id]);
    const outer = await directory.addGroup('Outer', [
      ann.id,
      guest.id,
      bareGuest.id,
      disabled.id,
      inner.id,
      device.id,
    ]);

    const environmentId = await setupSyncEnvironment({
      directory,
      groups: [outer.id],
      defaultMenus: ['Home', 'Projects'],
    });
    const run = await syncNow(environmentId);
    expect(run).toMatchObject({
      status: 'succeeded',
      trigger: 'manual',
      requestedBy: 'test-admin',
      counts: { added: 4, granted: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: 0 },
    });
    expect(run.startedAt).toBeTypeOf('string');
    expect(run.finishedAt).toBeTypeOf('string');

    const users = byObjectId(await allUsers(environmentId));
    expect([...users.keys()].sort()).toEqual([ann.id, nested.id, guest.id, bareGuest.id].sort());
    expect(users.get(ann.id)).toEqual({
      id: userIdOf(directory.id, ann.id),
      source: 'external',
      directoryId: directory.id,
      objectId: ann.id,
      displayName: 'Ann Member',
      email: 'ann@contoso.test',
      active: true,
      menus: ['Home', 'Projects'],
      groups: [outer.id],
    });
    expect(users.get(nested.id)!.email).toBe(nested.userPrincipalName);
    expect(users.get(guest.id)!.email).toBe('gus@fabrikam.test');
    expect(users.get(bareGuest.id)!.email).toBe('');
    expect(await repository.findUserByIdentity(directory.id, ann.id)).toEqual({
      id: userIdOf(directory.id, ann.id),
      displayName: 'Ann Member',
      email: 'ann@contoso.test',
    });

    const changes = await sync.getRunChanges(environmentId, run.runId, undefined);
    expect(changes.changes.map((c) => c.action)).toEqual(['added', 'added', 'added', 'added']);
    expect(changes.changes.find((c) => c.objectId === ann.id)).toEqual({
      userId: userIdOf(directory.id, ann.id),
      objectId: ann.id,
      displayName: 'Ann Member',
      action: 'added',
    });
  });

  it('rules 2, 4, 7: a user shared by two environments has one id; removal in one leaves the other', async () => {
    const sam = await directory.addUser({ displayName: 'Sam Shared', mail: 'sam@contoso.test' });
    const groupA = await directory.addGroup('Shared A', [sam.id]);
    const groupB = await directory.addGroup('Shared B', [sam.id]);
    const envA = await setupSyncEnvironment({ directory, groups: [groupA.id] });
    const envB = await setupSyncEnvironment({ directory, groups: [groupB.id], defaultMenus: ['B'] });

    expect((await syncNow(envA)).counts).toMatchObject({ added: 1, granted: 0 });
    const runB = await syncNow(envB);
    expect(runB.counts).toMatchObject({ added: 0, granted: 1 });
    const inA = (await allUsers(envA))[0]!;
    const inB = (await allUsers(envB))[0]!;
    expect(inA.id).toBe(inB.id);
    expect(inB.menus).toEqual(['B']);

    await directory.removeMembers(groupA.id, [sam.id]);
    const removal = await syncNow(envA);
    expect(removal.counts).toMatchObject({ deactivated: 1 });
    const deactivated = await repository.getEnvironmentUser(envA, inA.id);
    expect(deactivated).toMatchObject({ active: false, deactivationReason: 'removed-from-group' });
    expect(deactivated!.deactivatedAt).toBeTypeOf('string');
    expect(await repository.getEnvironmentUser(envB, inB.id)).toMatchObject({ active: true });
    expect((await syncNow(envB)).counts).toMatchObject({ unchanged: 1, deactivated: 0 });
    const changes = await sync.getRunChanges(envA, removal.runId, undefined);
    expect(changes.changes).toEqual([
      {
        userId: inA.id,
        objectId: sam.id,
        displayName: 'Sam Shared',
        action: 'deactivated',
        reason: 'removed-from-group',
      },
    ]);
  });

  it('rules 5, 6, 7: rename, disable, reactivation keeping menus, group removed from the settings', async () => {
    const ria = await directory.addUser({ displayName: 'Ria Renamed', mail: 'ria@contoso.test' });
    const dan = await directory.addUser({ displayName: 'Dan Disabled later', mail: 'dan@contoso.test' });
    const gil = await directory.addUser({ displayName: 'Gil Group', mail: 'gil@contoso.test' });
    const main = await directory.addGroup('Main', [ria.id, dan.id]);
    const extra = await directory.addGroup('Extra', [gil.id]);
    const tenantName = `t-rules-${Date.now()}`;
    const environmentId = await setupSyncEnvironment({ directory, tenantName, groups: [main.id, extra.id] });
    expect((await syncNow(environmentId)).counts.added).toBe(3);

    // An administrator sets menus; a sync never touches them.
    await repository.setUserMenus(environmentId, userIdOf(directory.id, dan.id), ['Special']);

    await directory.updateUser(ria.id, { displayName: 'Ria Renamed-Twice', mail: 'ria.new@contoso.test' });
    await directory.disableUser(dan.id);
    await configureSync(environmentId, tenantName, { groups: [main.id] });
    const second = await syncNow(environmentId);
    expect(second.counts).toEqual({
      added: 0,
      granted: 0,
      updated: 1,
      deactivated: 2,
      reactivated: 0,
      unchanged: 0,
    });
    const users = byObjectId(await allUsers(environmentId));
    expect(users.get(ria.id)).toMatchObject({
      displayName: 'Ria Renamed-Twice',
      email: 'ria.new@contoso.test',
      active: true,
    });
    expect(users.get(dan.id)).toMatchObject({
      active: false,
      deactivationReason: 'account-disabled',
      menus: ['Special'],
    });
    expect(users.get(gil.id)).toMatchObject({ active: false, deactivationReason: 'group-removed' });
    const changes = (await sync.getRunChanges(environmentId, second.runId, undefined)).changes;
    expect(changes.find((c) => c.objectId === ria.id)).toMatchObject({
      action: 'updated',
      fields: ['displayName', 'email'],
    });
    expect(await repository.findUserByIdentity(directory.id, ria.id)).toMatchObject({
      displayName: 'Ria Renamed-Twice',
    });

    await directory.enableUser(dan.id);
    const third = await syncNow(environmentId);
    expect(third.counts).toMatchObject({ reactivated: 1, deactivated: 0, unchanged: 2 });
    const dann = await repository.getEnvironmentUser(environmentId, userIdOf(directory.id, dan.id));
    expect(dann).toEqual(expect.objectContaining({ active: true, menus: ['Special'] }));
    expect(dann).not.toHaveProperty('deactivatedAt');
    expect(dann).not.toHaveProperty('deactivationReason');
  });

  it('rule 9: more deactivations than the limit halts with nothing applied; confirmation applies it', async () => {
    const users = await Promise.all(
      [1, 2, 3].map((i) => directory.addUser({ displayName: `Limit ${i}`, mail: `limit${i}@contoso.test` })),
    );
    const group = await directory.addGroup(
      'Limited',
      users.map((u) => u.id),
    );
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id], deactivationLimit: 2 });
    await syncNow(environmentId);
    await directory.removeMembers(
      group.id,
      users.map((u) => u.id),
    );

    const halted = await syncNow(environmentId);
    expect(halted).toMatchObject({
      status: 'halted',
      haltReason: 'deactivation-limit',
      counts: { deactivated: 3 },
    });
    expect((await allUsers(environmentId)).every((u) => u.active)).toBe(true);
    const wouldHave = await sync.getRunChanges(environmentId, halted.runId, undefined);
    expect(wouldHave.changes).toHaveLength(3);
    expect(wouldHave.changes.every((c) => c.action === 'deactivated')).toBe(true);

    const confirmed = await syncNow(environmentId, { confirmDeactivations: true });
    expect(confirmed).toMatchObject({ status: 'succeeded', counts: { deactivated: 3 } });
    expect(confirmed).not.toHaveProperty('haltReason');
    expect((await allUsers(environmentId)).every((u) => !u.active)).toBe(true);
  });

  it('rule 9: exactly the limit goes ahead', async () => {
    const users = await Promise.all([1, 2].map((i) => directory.addUser({ displayName: `Exact ${i}` })));
    const group = await directory.addGroup(
      'Exact',
      users.map((u) => u.id),
    );
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id], deactivationLimit: 2 });
    await syncNow(environmentId);
    await directory.removeMembers(
      group.id,
      users.map((u) => u.id),
    );
    expect(await syncNow(environmentId)).toMatchObject({ status: 'succeeded', counts: { deactivated: 2 } });
  });

  it('small pages: every @odata.nextLink is followed', async () => {
    const big = await directory.addGroup('Paged');
    await directory.generateUsers(big.id, 57, { prefix: 'Paged' });
    const environmentId = await setupSyncEnvironment({ directory, groups: [big.id] });
    await directory.capPageSize(10);
    try {
      await directory.resetRequestLog();
      const run = await syncNow(environmentId);
      expect(run.counts.added).toBe(57);
      const memberPages = (await directory.graphRequests()).filter((r) =>
        r.path.endsWith('/microsoft.graph.user'),
      );
      expect(memberPages).toHaveLength(6);
    } finally {
      await directory.capPageSize(null);
    }
    expect(await allUsers(environmentId)).toHaveLength(57);
  });
});
