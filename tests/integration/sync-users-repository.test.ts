import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestEnvironment, testServices } from '../support/storage.js';
import { seedEnvironmentUser } from '../support/users.js';
import { createUsersRepository, userIdOf, type UsersRepository } from '../../shared/users/repository.js';

let users: UsersRepository;

beforeAll(() => {
  useTestEnvironment();
  users = createUsersRepository(testServices().storage);
});

describe('users repository', () => {
  it('stores a user under a deterministic id and finds it by identity and by email', async () => {
    const environmentId = `env-${randomUUID()}`;
    const directoryId = randomUUID();
    const objectId = randomUUID();
    const seeded = await seedEnvironmentUser({
      environmentId,
      directoryId,
      objectId,
      displayName: 'Ada Lovelace',
      email: 'Ada@Example.com',
      menus: ['Home'],
      groups: ['g1'],
    });
    expect(seeded).toEqual({
      id: userIdOf(directoryId, objectId),
      source: 'external',
      directoryId,
      objectId,
      displayName: 'Ada Lovelace',
      email: 'Ada@Example.com',
      active: true,
      menus: ['Home'],
      groups: ['g1'],
    });
    expect(await users.findUserByIdentity(directoryId.toUpperCase(), objectId)).toEqual({
      id: seeded.id,
      displayName: 'Ada Lovelace',
      email: 'Ada@Example.com',
    });
    expect(await users.findUserByIdentity(directoryId, randomUUID())).toBeUndefined();
    expect((await users.findActiveUsersByEmail(environmentId, 'ada@EXAMPLE.com')).map((u) => u.id)).toEqual([
      seeded.id,
    ]);
    expect(await users.findActiveUsersByEmail(`${environmentId}x`, 'ada@example.com')).toEqual([]);
  });

  it('does not find deactivated users by email, and shows when and why they were deactivated', async () => {
    const environmentId = `env-${randomUUID()}`;
    const user = await seedEnvironmentUser({
      environmentId,
      directoryId: randomUUID(),
      objectId: randomUUID(),
      displayName: 'Gone',
      email: 'gone@example.com',
      active: false,
    });
    expect(user.active).toBe(false);
    expect(user.deactivationReason).toBe('removed-from-group');
    expect(typeof user.deactivatedAt).toBe('string');
    expect(await users.findActiveUsersByEmail(environmentId, 'gone@example.com')).toEqual([]);
  });

  it('pages an environment and changes menus only', async () => {
    const environmentId = `env-${randomUUID()}`;
    const directoryId = randomUUID();
    for (let i = 0; i < 5; i++) {
      await seedEnvironmentUser({
        environmentId,
        directoryId,
        objectId: randomUUID(),
        displayName: `U${i}`,
        email: `u${i}@example.com`,
      });
    }
    const first = await users.listEnvironmentUsers(environmentId, { pageSize: 3 });
    expect(first.users).toHaveLength(3);
    expect(first.continuationToken).toBeTypeOf('string');
    const second = await users.listEnvironmentUsers(environmentId, {
      pageSize: 3,
      continuationToken: first.continuationToken!,
    });
    expect(second.users).toHaveLength(2);
    expect(second.continuationToken).toBeUndefined();
    const ids = new Set([...first.users, ...second.users].map((u) => u.id));
    expect(ids.size).toBe(5);

    const target = first.users[0]!;
    const changed = await users.setUserMenus(environmentId, target.id, ['Projects']);
    expect(changed).toMatchObject({ id: target.id, menus: ['Projects'], displayName: target.displayName });
    expect(await users.setUserMenus(environmentId, 'nope', ['x'])).toBeUndefined();
    expect(await users.getEnvironmentUser(environmentId, 'nope')).toBeUndefined();
    await expect(
      users.listEnvironmentUsers(environmentId, { continuationToken: 'garbage' }),
    ).rejects.toMatchObject({
      code: 'validation',
    });
  });
});
