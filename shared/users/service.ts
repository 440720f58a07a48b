import { AppError } from '../errors.js';
import type { StorageAccount } from '../storage/account.js';
import type { EnvironmentUser, UserPage } from './model.js';
import { createUsersRepository } from './repository.js';

/** The users of an environment. Every user here is external: the directory owns it. */

/** The environments domain, as far as users need it. */
export interface UsersEnvironmentsPort {
  get(environmentId: string): Promise<unknown>;
}

export interface UsersDeps {
  readonly storage: StorageAccount;
  readonly environments: UsersEnvironmentsPort;
}

export interface UsersService {
  listUsers(environmentId: string, continuationToken: string | undefined): Promise<UserPage>;
  getUser(environmentId: string, userId: string): Promise<EnvironmentUser>;
  /**
   * Changes what an administrator may change: `menus`. A body that touches a field the directory
   * owns is refused as a whole (409 managed-externally), so nothing changes.
   */
  patchUser(
    environmentId: string,
    userId: string,
    body: Readonly<Record<string, unknown>>,
    menus: readonly string[] | undefined,
  ): Promise<EnvironmentUser>;
  managedFieldsIn(body: Readonly<Record<string, unknown>>): string[];
}

const MANAGED_FIELDS = ['displayName', 'email', 'active'] as const;

/** Fields of an external user that only the directory may change. */
export function managedFieldsIn(body: Readonly<Record<string, unknown>>): string[] {
  return MANAGED_FIELDS.filter((field) => Object.hasOwn(body, field));
}

function noAccess(environmentId: string, userId: string): AppError {
  return new AppError('not-found', `User "${userId}" has no access to "${environmentId}".`);
}

export function createUsersService(deps: UsersDeps): UsersService {
  const users = createUsersRepository(deps.storage);

  async function assertEnvironment(environmentId: string): Promise<void> {
    if (!(await deps.environments.get(environmentId))) {
      throw new AppError('not-found', `Environment "${environmentId}" does not exist.`);
    }
  }

  async function listUsers(environmentId: string, continuationToken: string | undefined): Promise<UserPage> {
    await assertEnvironment(environmentId);
    return users.listEnvironmentUsers(
      environmentId,
      continuationToken === undefined ? {} : { continuationToken },
    );
  }

  async function getUser(environmentId: string, userId: string): Promise<EnvironmentUser> {
    const user = await users.getEnvironmentUser(environmentId, userId);
    if (!user) throw noAccess(environmentId, userId);
    return user;
  }

  async function patchUser(
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
        `The ${managed.join(' and ')} of an external user ${managed.length === 1 ? 'is' : 'are'} managed by its Microsoft Entra ID directory.`,
      );
    }
    if (menus === undefined) return current;
    const updated = await users.setUserMenus(environmentId, userId, menus);
    if (!updated) throw noAccess(environmentId, userId);
    return updated;
  }

  return { listUsers, getUser, patchUser, managedFieldsIn };
}
