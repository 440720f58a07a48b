import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import azureFunctions from '@azure/functions';
import { buildServices } from '../../shared/app/services.js';
import { bindHandler, listRegistrations } from '../../shared/host/registry.js';
import { SESSION_LIFETIME_SECONDS, type SessionsService } from '../../shared/auth/sessions.js';
import { SESSIONS_TABLE } from '../../shared/auth/session-store.js';
import {
  createTransactionStore,
  TRANSACTIONS_TABLE,
  type TransactionContext,
} from '../../shared/auth/signin-transactions.js';
import { SigninError } from '../../shared/auth/signin-errors.js';
import { testClock, testPorts, testServices, useTestEnvironment } from '../support/storage.js';
import { uniqueId } from '../support/ids.js';
import { seedEnvironmentUser, seedSomeone } from '../support/users.js';

const { InvocationContext } = azureFunctions;
const HOUR = 3600 * 1000;

beforeAll(async () => {
  useTestEnvironment();
  await import('../../functions/sessionPurge.js');
});

/** The sessions service of this test environment, on a clock stopped at `now`. */
function sessionsAt(now: Date): SessionsService {
  return buildServices(testServices().config, testPorts({ clock: { now: () => now } })).sessions;
}
const createSession = (environmentId: string, userId: string, now: Date) =>
  sessionsAt(now).create(environmentId, userId);
const lookUpSession = (secret: string | undefined, now: Date) => sessionsAt(now).lookUp(secret);
const endSession = (secret: string | undefined) => testServices().sessions.end(secret);
const revokeUserSessions = (environmentId: string, userId: string) =>
  testServices().sessions.revokeUser(environmentId, userId);
const beginTransaction = (context: TransactionContext, now: Date) =>
  createTransactionStore(testServices().storage).begin(context, now);
const consumeTransaction = (cookieSecret: string, now: Date) =>
  createTransactionStore(testServices().storage).consume(cookieSecret, now);

async function runSessionPurge(): Promise<void> {
  const registration = listRegistrations().find((r) => r.name === 'sessionPurge');
  if (registration?.kind !== 'timer') throw new Error('sessionPurge is not a timer');
  await bindHandler(registration, testServices())({} as never, new InvocationContext());
}

async function rowsOf(table: string): Promise<Array<Record<string, unknown>>> {
  const client = await testServices().storage.table(table);
  const rows: Array<Record<string, unknown>> = [];
  for await (const row of client.listEntities()) rows.push(row);
  return rows;
}

describe('session store', () => {
  it('keeps only a hash of the session id', async () => {
    const env = uniqueId('env');
    const user = await seedSomeone(env);
    const session = await createSession(env, user.id, new Date());
    expect(session.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = JSON.stringify(await rowsOf(SESSIONS_TABLE));
    expect(stored).not.toContain(session.secret);
  });

  it('lives 8 hours to the millisecond, then is refused and deleted', async () => {
    const env = uniqueId('env');
    const user = await seedSomeone(env);
    const t0 = new Date('2026-11-28T09:00:00.000Z');
    const { secret, expiresAt } = await createSession(env, user.id, t0);
    expect(expiresAt.getTime() - t0.getTime()).toBe(SESSION_LIFETIME_SECONDS * 1000);
    const live = await lookUpSession(secret, new Date(t0.getTime() + 8 * HOUR - 1));
    expect(live).toMatchObject({
      live: true,
      session: {
        userId: user.id,
        displayName: 'Grace Hopper',
        email: 'grace@example.com',
        environment: env,
        expiresAt: '2026-11-28T17:00:00.000Z',
      },
    });
    expect(await lookUpSession(secret, new Date(t0.getTime() + 8 * HOUR))).toEqual({
      live: false,
      reason: 'expired',
    });
    // Deleted, so even a clock that goes back does not revive it.
    expect(await lookUpSession(secret, t0)).toEqual({ live: false, reason: 'unknown' });
  });

  it('refuses a session whose user lost access, and one whose user never had any', async () => {
    const env = uniqueId('env');
    const inactive = await seedSomeone(env, false);
    const now = new Date();
    const a = await createSession(env, inactive.id, now);
    expect(await lookUpSession(a.secret, now)).toEqual({ live: false, reason: 'access-ended' });
    const b = await createSession(env, 'no-such-user', now);
    expect(await lookUpSession(b.secret, now)).toEqual({ live: false, reason: 'access-ended' });
  });

  it('logout ends only that session', async () => {
    const env = uniqueId('env');
    const user = await seedSomeone(env);
    const now = new Date();
    const a = await createSession(env, user.id, now);
    const b = await createSession(env, user.id, now);
    await endSession(a.secret);
    await endSession(a.secret);
    await endSession(undefined);
    expect((await lookUpSession(a.secret, now)).live).toBe(false);
    expect((await lookUpSession(b.secret, now)).live).toBe(true);
  });

  it('revokeUser ends the user’s sessions in that environment only', async () => {
    const envA = uniqueId('env');
    const envB = uniqueId('env');
    const user = await seedSomeone(envA);
    await seedEnvironmentUser({
      environmentId: envB,
      directoryId: user.directoryId,
      objectId: user.objectId,
      displayName: user.displayName,
      email: user.email,
    });
    const other = await seedSomeone(envA);
    const now = new Date();
    const inA1 = await createSession(envA, user.id, now);
    const inA2 = await createSession(envA, user.id, now);
    const inB = await createSession(envB, user.id, now);
    const otherInA = await createSession(envA, other.id, now);
    await revokeUserSessions(envA, user.id);
    expect((await lookUpSession(inA1.secret, now)).live).toBe(false);
    expect((await lookUpSession(inA2.secret, now)).live).toBe(false);
    expect((await lookUpSession(inB.secret, now)).live).toBe(true);
    expect((await lookUpSession(otherInA.secret, now)).live).toBe(true);
    await revokeUserSessions(envA, 'nobody');
  });
});

describe('sign-in transactions', () => {
  const context = {
    environmentId: 'env',
    tenant: 'tenant',
    directoryId: randomUUID(),
    clientId: randomUUID(),
    returnTo: '/x',
  };

  it('are taken once, and never stored with their secrets', async () => {
    const now = new Date();
    const { cookieSecret, transaction } = await beginTransaction(context, now);
    const stored = JSON.stringify(await rowsOf(TRANSACTIONS_TABLE));
    for (const secret of [
      cookieSecret,
      transaction.secrets.state,
      transaction.secrets.nonce,
      transaction.secrets.codeVerifier,
    ]) {
      expect(stored).not.toContain(secret);
    }
    const taken = await consumeTransaction(cookieSecret, now);
    expect(taken).toMatchObject({ ...context, secrets: transaction.secrets });
    await expect(consumeTransaction(cookieSecret, now)).rejects.toMatchObject({
      reason: 'transaction-unknown',
    });
  });

  it('two concurrent callbacks: exactly one wins', async () => {
    const now = new Date();
    const { cookieSecret } = await beginTransaction(context, now);
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => consumeTransaction(cookieSecret, now)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SigninError);
    }
  });
});

describe('purge', () => {
  it('removes expired sessions, their index rows and abandoned transactions; keeps the rest', async () => {
    const env = uniqueId('env');
    const user = await seedSomeone(env);
    const t0 = new Date(Date.now() - 20 * HOUR);
    const old = await createSession(env, user.id, t0);
    const recent = await createSession(env, user.id, new Date());
    const { cookieSecret: oldTx } = await beginTransaction(
      { environmentId: env, tenant: 't', directoryId: 'd', clientId: 'c', returnTo: '/' },
      t0,
    );
    const { cookieSecret: freshTx } = await beginTransaction(
      { environmentId: env, tenant: 't', directoryId: 'd', clientId: 'c', returnTo: '/' },
      new Date(),
    );
    const before = await rowsOf(SESSIONS_TABLE);

    await runSessionPurge();

    const after = await rowsOf(SESSIONS_TABLE);
    // The old session and its index row went; nothing unexpired did.
    expect(before.length - after.length).toBeGreaterThanOrEqual(2);
    expect(after.every((row) => new Date(row.expiresAt as string).getTime() > Date.now())).toBe(true);
    expect((await lookUpSession(recent.secret, new Date())).live).toBe(true);
    expect((await lookUpSession(old.secret, t0)).live).toBe(false);
    await expect(consumeTransaction(oldTx, t0)).rejects.toMatchObject({ reason: 'transaction-unknown' });
    await expect(consumeTransaction(freshTx, new Date())).resolves.toBeDefined();
  });

  it('runs on the clock the shell is given', async () => {
    const env = uniqueId('env');
    const user = await seedSomeone(env);
    const fresh = await createSession(env, user.id, new Date());
    testClock.use({ now: () => new Date(Date.now() + 9 * HOUR) });
    try {
      await runSessionPurge();
    } finally {
      testClock.use(undefined);
    }
    expect(await lookUpSession(fresh.secret, new Date())).toEqual({ live: false, reason: 'unknown' });
  });
});
