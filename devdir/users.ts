import { DirectoryAdminError, type StoredUser } from './records.js';

/** Stored users by id, indexed by lower-case userPrincipalName too: keeps adding many users linear. */
export class StoredUsers extends Map<string, StoredUser> {
  private readonly upns = new Map<string, string>();

  override set(id: string, user: StoredUser): this {
    super.set(id, user);
    this.upns.set(user.userPrincipalName.toLowerCase(), id);
    return this;
  }

  override delete(id: string): boolean {
    const user = this.get(id);
    if (user !== undefined) this.upns.delete(user.userPrincipalName.toLowerCase());
    return super.delete(id);
  }

  hasPrincipalName(upn: string): boolean {
    return this.upns.has(upn.toLowerCase());
  }

  rename(user: StoredUser, upn: string): void {
    const wanted = upn.toLowerCase();
    const holder = this.upns.get(wanted);
    if (holder !== undefined && holder !== user.id) {
      throw new DirectoryAdminError(409, `userPrincipalName ${upn} exists`);
    }
    this.upns.delete(user.userPrincipalName.toLowerCase());
    user.userPrincipalName = upn;
    this.upns.set(wanted, user.id);
  }

  /** The stored user who signs in as `wanted` (lower case): by userPrincipalName, mail or another mail. */
  byLogin(wanted: string): StoredUser | undefined {
    const byUpn = this.upns.get(wanted);
    if (byUpn !== undefined) return this.get(byUpn);
    for (const user of this.values()) {
      if (user.mail?.toLowerCase() === wanted || user.otherMails.some((m) => m.toLowerCase() === wanted)) {
        return user;
      }
    }
    return undefined;
  }
}
