import { AppError } from '../errors.js';
import { getEnvironment } from '../environments/repository.js';
import {
  getEnvironmentUser,
  listEnvironmentUsers,
  setUserMenus,
  type EnvironmentUser,
  type UserPage,
} from './repository.js';

/** The users of an environment (contract §3.5). Every user here is external: the directory owns it. */

const MANAGED_FIELDS = ['displayName', 'email', 'active'] as const;

async function assertEnvironment(environmentId: string): Promise<void> {
  if (!(await getEnvironment(environmentId))) {
    throw new AppError('not-found', `Environment "${environmentId}" does not exist.`);
  }
}

export async function listUsers(
  environmentId: string,
  continuationToken: string | undefined,
): Promise<UserPage> {
  await assertEnvironment(environmentId);
  return listEnvironmentUsers(environmentId, continuationToken === undefined ? {} : { continuationToken });
}

export async function getUser(environmentId: string, userId: string): Promise<EnvironmentUser> {
  const user = await getEnvironmentUser(environmentId, userId);
  if (!user) throw new AppError('not-found', `User "${userId}" has no access to "${environmentId}".`);
  return user;
}

/** Fields of an external user that only the directory may change. */
export function managedFieldsIn(body: Readonly<Record<string, unknown>>): string[] {
  return MANAGED_FIELDS.filter((field) => Object.hasOwn(body, field));
}

/**
 * Changes what an administrator may change: `menus`. A body that touches a field the directory
 * owns is refused as a whole (409 managed-externally), so nothing changes.
 */
export async function patchUser(
  environmentId: string,
  userId: string,
  body: Readonly<Record<string, unknown>>,
  menus: readonly string[] | undefined,
): Promise<EnvironmentUser> {
  const current = await getUser(environmentId, userId);
  const managed = managedFieldsIn(body);
  if (managed.length > 0) {
    throw new AppError(
      'managed-externally',
      `${managed.join(', ')} of an external user are managed by its Microsoft Entra ID directory.`,
    );
  }
  if (menus === undefined) return current;
  const updated = await setUserMenus(environmentId, userId, menus);
  if (!updated) throw new AppError('not-found', `User "${userId}" has no access to "${environmentId}".`);
  return updated;
}
