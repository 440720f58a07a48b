import { randomUUID } from 'node:crypto';
import { testServices } from './storage.js';
import { createUsersRepository, userIdOf, type EnvironmentUser } from '../../shared/users/repository.js';

export interface SeedEnvironmentUserInput {
  environmentId: string;
  directoryId: string;
  objectId: string;
  displayName: string;
  email: string;
  active?: boolean;
  menus?: string[];
  groups?: string[];
}

/**
 * Creates (or overwrites) a user and its access to one environment through the real repository
 * over this test worker's storage account, exactly as a sync would store them.
 */
export async function seedEnvironmentUser(input: SeedEnvironmentUserInput): Promise<EnvironmentUser> {
  const directoryId = input.directoryId.toLowerCase();
  const objectId = input.objectId.toLowerCase();
  const userId = userIdOf(directoryId, objectId);
  const users = createUsersRepository(testServices().storage);
  await users.writeUserBatch(directoryId, [
    { userId, objectId, displayName: input.displayName, email: input.email },
  ]);
  const active = input.active ?? true;
  await users.writeAccessBatch(input.environmentId, [
    {
      userId,
      directoryId,
      objectId,
      displayName: input.displayName,
      email: input.email,
      active,
      groups: input.groups ?? [],
      menus: input.menus ?? [],
      ...(active
        ? {}
        : { deactivatedAt: new Date().toISOString(), deactivationReason: 'removed-from-group' as const }),
    },
  ]);
  const user = await users.getEnvironmentUser(input.environmentId, userId);
  if (!user) throw new Error('the seeded user could not be read back');
  return user;
}

/** A user of a fresh identity with access to one environment (active unless told), for session tests. */
export function seedSomeone(environmentId: string, active = true): Promise<EnvironmentUser> {
  return seedEnvironmentUser({
    environmentId,
    directoryId: randomUUID(),
    objectId: randomUUID(),
    displayName: 'Grace Hopper',
    email: 'grace@example.com',
    active,
  });
}
