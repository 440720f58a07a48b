import { createHash, randomBytes } from 'node:crypto';
import { getEnvironmentUser } from '../users/repository.js';
import {
  deleteExpiredRows,
  deleteSession,
  deleteUserSessions,
  insertSession,
  readSession,
  type StoredSession,
} from './session-store.js';
import { deleteExpiredTransactions } from './signin-transactions.js';

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

/** 256 random bits, base64url without padding. */
const SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

function hashOf(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function sessionEnd(signedInAt: Date): Date {
  return new Date(signedInAt.getTime() + SESSION_LIFETIME_SECONDS * 1000);
}

export function isSessionLive(session: Pick<StoredSession, 'expiresAt'>, now: Date): boolean {
  return now.getTime() < session.expiresAt.getTime();
}

export async function createSession(environmentId: string, userId: string, now: Date): Promise<NewSession> {
  const secret = randomBytes(32).toString('base64url');
  const expiresAt = sessionEnd(now);
  await insertSession({ idHash: hashOf(secret), environmentId, userId, createdAt: now, expiresAt });
  return { secret, expiresAt };
}

export type SessionLookup =
  | { readonly live: true; readonly session: SessionView }
  | { readonly live: false; readonly reason: 'no-cookie' | 'unknown' | 'expired' | 'access-ended' };

/**
 * The session of a cookie, checked on every use: unexpired, and its user still has active access
 * to its environment. A session that fails either check is deleted on the spot.
 */
export async function lookUpSession(secret: string | undefined, now: Date): Promise<SessionLookup> {
  if (secret === undefined || !SECRET_SHAPE.test(secret)) return { live: false, reason: 'no-cookie' };
  const stored = await readSession(hashOf(secret));
  if (!stored) return { live: false, reason: 'unknown' };
  if (!isSessionLive(stored, now)) {
    await deleteSession(stored);
    return { live: false, reason: 'expired' };
  }
  const user = await getEnvironmentUser(stored.environmentId, stored.userId);
  if (!user?.active) {
    await deleteSession(stored);
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
}

/** Logout: the session dies on the server. Unknown or absent cookies are fine (idempotent). */
export async function endSession(secret: string | undefined): Promise<void> {
  if (secret === undefined || !SECRET_SHAPE.test(secret)) return;
  const stored = await readSession(hashOf(secret));
  if (stored) await deleteSession(stored);
}

/**
 * Ends every session of the user in the environment at once. The sync calls it
 * when it deactivates access; the check on use covers the moments in between.
 */
export async function revokeUserSessions(environmentId: string, userId: string): Promise<void> {
  await deleteUserSessions(environmentId, userId);
}

/** How many users' sessions are revoked at once after a sync; each is one small partition query. */
const REVOCATION_CONCURRENCY = 8;

/** Sessions die with access: ends the sessions of every user whose access a sync deactivated. */
export async function revokeSessionsOfUsers(
  environmentId: string,
  userIds: readonly string[],
): Promise<void> {
  const pending = [...userIds];
  const revokeNext = async (): Promise<void> => {
    for (let userId = pending.pop(); userId !== undefined; userId = pending.pop()) {
      await revokeUserSessions(environmentId, userId);
    }
  };
  await Promise.all(Array.from({ length: Math.min(REVOCATION_CONCURRENCY, pending.length) }, revokeNext));
}

/** Removes expired sessions and abandoned sign-in transactions (timer `sessionPurge`). */
export async function purgeExpiredSessions(
  now: Date,
): Promise<{ sessionRows: number; transactions: number }> {
  const sessionRows = await deleteExpiredRows(now);
  const transactions = await deleteExpiredTransactions(now);
  return { sessionRows, transactions };
}
