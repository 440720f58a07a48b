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

// Temporary: sign-in and password reset still call these as free functions bound to the
// process-wide storage; they go once those domains receive a UsersRepository.
export { findActiveUsersByEmail, findUserByIdentity, getEnvironmentUser } from '../sync/default-wiring.js';
