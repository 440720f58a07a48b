import type { StorageAccount } from '../storage/account.js';
import { createAccessRows, type AccessRows } from './access-rows.js';
import { createIdentityRows, type IdentityRows } from './identity-rows.js';

/** Users as stored: the identity rows and the access rows (see entities.ts for the layout). */
export type UsersRepository = AccessRows & IdentityRows;

export function createUsersRepository(storage: StorageAccount): UsersRepository {
  return { ...createAccessRows(storage), ...createIdentityRows(storage) };
}

export type { AccessRows } from './access-rows.js';
export type { IdentityRows } from './identity-rows.js';
export type {
  AccessPatch,
  DeactivationReason,
  EnvironmentUser,
  Identity,
  IdentityUser,
  UserPage,
} from './model.js';
export { accessPartitionOf, userPartitionOf } from './entities.js';
export { userIdOf } from './identity.js';
