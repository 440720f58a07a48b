/**
 * Users and their access to environments, as the rest of the service sees them. Where they are
 * stored is docs/storage.md; how a sync changes them is docs/sync-rules.md.
 */

export type DeactivationReason = 'removed-from-group' | 'group-removed' | 'account-disabled';

export const DEACTIVATION_REASONS: readonly DeactivationReason[] = [
  'removed-from-group',
  'group-removed',
  'account-disabled',
];

/**
 * What a sync reads of a user's access: enough to compare it with the directory and to deactivate
 * it (menus and the last deactivation's details never decide a write).
 */
export interface AccessRecord {
  /** The user id. */
  readonly id: string;
  readonly directoryId: string;
  readonly objectId: string;
  readonly displayName: string;
  readonly email: string;
  readonly active: boolean;
  readonly groups: readonly string[];
}

/** A user as the management API shows it. */
export interface EnvironmentUser extends AccessRecord {
  readonly source: 'external';
  readonly menus: string[];
  readonly groups: string[];
  readonly deactivatedAt?: string;
  readonly deactivationReason?: DeactivationReason;
}

/** The directory-wide part of a user. */
export interface Identity {
  readonly userId: string;
  readonly objectId: string;
  readonly displayName: string;
  readonly email: string;
}

/**
 * What the sync writes to an access row (merged into it). `menus` is given only when access is
 * created or granted: a merge without it keeps the menus an administrator chose (docs/sync-rules.md,
 * "Reactivated access keeps its menus").
 */
export interface AccessPatch {
  readonly userId: string;
  readonly directoryId: string;
  readonly objectId: string;
  readonly displayName: string;
  readonly email: string;
  readonly active: boolean;
  readonly groups: readonly string[];
  readonly menus?: readonly string[];
  /** `undefined` clears the deactivation (the row keeps an empty string). */
  readonly deactivatedAt?: string;
  readonly deactivationReason?: DeactivationReason;
}

export interface UserPage {
  readonly users: EnvironmentUser[];
  readonly continuationToken?: string;
}

/** What sign-in needs of the user of an identity. */
export interface IdentityUser {
  readonly id: string;
  readonly displayName: string;
  readonly email: string;
}
