import type { EnvironmentUser } from '../../../shared/users/model.js';

export type { EnvironmentUser };

export interface UserFilter {
  readonly text: string;
  readonly status: 'all' | 'active' | 'deactivated';
}

/** The loaded users that match: name or email containing the text (any case), and the status. */
export function filterUsers<T extends Pick<EnvironmentUser, 'displayName' | 'email' | 'active'>>(
  users: readonly T[],
  filter: UserFilter,
): T[] {
  const needle = filter.text.trim().toLowerCase();
  return users.filter((user) => {
    if (filter.status === 'active' && !user.active) return false;
    if (filter.status === 'deactivated' && user.active) return false;
    if (needle === '') return true;
    return user.displayName.toLowerCase().includes(needle) || user.email.toLowerCase().includes(needle);
  });
}
