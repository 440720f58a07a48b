import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { forEachLimited } from '../concurrency.js';
import type { SessionStore, StoredSession } from './session-store.js';
import type { TransactionStore } from './signin-transactions.js';

/** Sessions live 8 hours from sign-in and are never extended. */
export const SESSION_LIFETIME_SECONDS = 8 * 60 * 60;

/** What GET /api/auth/session answers. */
export interface SessionView {
  readonly userId: string;
  readonly displayName: string;
  readonly email: string;
  readonly environment: string;
  readonly expiresAt: string;
}

export interface NewSession {
  /** The cookie value: the only copy of the session id. */
  readonly secret: string;
  readonly expiresAt: Date;
}

export type SessionLookup =
  | { readonly live: true; readonly session: SessionView }
  | { readonly live: false; readonly reason: 'no-cookie' | 'unknown' | 'expired' | 'access-ended' };

/** 256 random bits, base64url without padding. */
const SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** How many users' sessions are revoked at once after a sync; each is one small partition query. */
const REVOCATION_CONCURRENCY = 8;

function hashOf(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function sessionEnd(signedInAt: Date): Date {
  return new Date(signedInAt.getTime() + SESSION_LIFETIME_SECONDS * 1000);
}

export function isSessionLive(session: Pick<StoredSession, 'expiresAt'>, now: Date): boolean {
  return now.getTime() < session.expiresAt.getTime();
}

/** What a session needs to know of its user: whether their access is active, and how to show them. */
export interface SessionUsers {
  getAccess(
    environmentId: string,
    userId: string,
  ): Promise<{ readonly active: boolean; readonly displayName: string; readonly email: string } | undefined>;
}

export interface SessionsDeps {
  readonly store: SessionStore;
  readonly transactions: Pick<TransactionStore, 'deleteExpired'>;
  readonly users: SessionUsers;
  readonly clock: Clock;
}

export interface SessionsService {
  create(environmentId: string, userId: string): Promise<NewSession>;
  /**
   * The session of a cookie, checked on every use: unexpired, and its user still has active
   * access to its environment. A session that fails either check is deleted on the spot.
   */
  lookUp(secret: string | undefined): Promise<SessionLookup>;
  /** Logout: the session dies on the server. Unknown or absent cookies are fine (idempotent). */
  end(secret: string | undefined): Promise<void>;
  /** Ends every session of the user in the environment at once. */
  revokeUser(environmentId: string, userId: string): Promise<void>;
  /**
   * Ends the sessions of every user whose access the sync deactivated; the check on use covers the
   * moments in between.
   */
  revokeUsers(environmentId: string, userIds: readonly string[]): Promise<void>;
  /** Removes expired sessions and abandoned sign-in transactions. */
  purgeExpired(): Promise<{ sessionRows: number; transactions: number }>;
}

export function createSessions({ store, transactions, users, clock }: SessionsDeps): SessionsService {
  async function revokeUser(environmentId: string, userId: string): Promise<void> {
    await store.deleteUserSessions(environmentId, userId);
  }

  return {
    async create(environmentId, userId) {
      const now = clock.now();
      const secret = randomBytes(32).toString('base64url');
      const expiresAt = sessionEnd(now);
      await store.insert({ idHash: hashOf(secret), environmentId, userId, createdAt: now, expiresAt });
      return { secret, expiresAt };
    },

    async lookUp(secret) {
      if (secret === undefined || !SECRET_SHAPE.test(secret)) return { live: false, reason: 'no-cookie' };
      const stored = await store.read(hashOf(secret));
      if (!stored) return { live: false, reason: 'unknown' };
      if (!isSessionLive(stored, clock.now())) {
        await store.delete(stored);
        return { live: false, reason: 'expired' };
      }
      const user = await users.getAccess(stored.environmentId, stored.userId);
      if (!user?.active) {
        await store.delete(stored);
        return { live: false, reason: 'access-ended' };
      }
      return {
        live: true,
        session: {
          userId: stored.userId,
          displayName: user.displayName,
          email: user.email,
          environment: stored.environmentId,
          expiresAt: stored.expiresAt.toISOString(),
        },
      };
    },

    async end(secret) {
      if (secret === undefined || !SECRET_SHAPE.test(secret)) return;
      const stored = await store.read(hashOf(secret));
      if (stored) await store.delete(stored);
    },

    revokeUser,

    async revokeUsers(environmentId, userIds) {
      await forEachLimited(userIds, REVOCATION_CONCURRENCY, (userId) => revokeUser(environmentId, userId));
    },

    async purgeExpired() {
      const now = clock.now();
      const sessionRows = await store.deleteExpired(now);
      const removed = await transactions.deleteExpired(now);
      return { sessionRows, transactions: removed };
    },
  };
}
