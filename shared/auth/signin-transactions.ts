import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import { AppError } from '../errors.js';
import type { StorageAccount } from '../storage/account.js';
import type { AuthorizationSecrets } from './oidc/authorization.js';
import { SigninError } from './signin-errors.js';
import { statusOf } from '../storage/errors.js';

/**
 * A sign-in in progress, between the login redirect and the callback.
 *
 * The browser holds a random 256-bit secret in an HttpOnly cookie; `state`, `nonce` and the PKCE
 * verifier are derived from it (HKDF), so storage holds none of them, only the secret's hash and
 * what the callback needs to know about the environment. The record is deleted on first use
 * (conditional on its ETag, so two concurrent callbacks cannot both win) and expires after
 * 10 minutes.
 */
export const TRANSACTIONS_TABLE = 'signintransactions';
const ROW = 'transaction';
export const TRANSACTION_LIFETIME_SECONDS = 10 * 60;

export interface TransactionContext {
  readonly environmentId: string;
  readonly tenant: string;
  readonly directoryId: string;
  readonly clientId: string;
  readonly returnTo: string;
}

export interface Transaction extends TransactionContext {
  readonly secrets: AuthorizationSecrets;
  readonly expiresAt: Date;
}

interface TransactionEntity extends TableEntity, TransactionContext {
  expiresAt: Date;
}

export function hashOf(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function derive(secret: string, label: string): string {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(secret, 'base64url'), '', `bizzstream-signin/${label}`, 32),
  ).toString('base64url');
}

/** The authorization secrets bound to one transaction cookie. */
export function secretsOf(cookieSecret: string): AuthorizationSecrets {
  return {
    state: derive(cookieSecret, 'state'),
    nonce: derive(cookieSecret, 'nonce'),
    codeVerifier: derive(cookieSecret, 'pkce'),
  };
}

export interface TransactionStore {
  /** Starts a transaction; returns the cookie secret and what it binds. */
  begin(context: TransactionContext, now: Date): Promise<{ cookieSecret: string; transaction: Transaction }>;
  /**
   * Takes the transaction of this cookie, once: a second call, a concurrent one or an unknown
   * cookie gets 'transaction-unknown'; an expired one 'transaction-expired'.
   */
  consume(cookieSecret: string, now: Date): Promise<Transaction>;
  /** Transactions abandoned before their callback; returns how many were deleted. */
  deleteExpired(now: Date): Promise<number>;
}

function fromTransactionEntity(entity: TransactionEntity, cookieSecret: string): Transaction {
  return {
    environmentId: entity.environmentId,
    tenant: entity.tenant,
    directoryId: entity.directoryId,
    clientId: entity.clientId,
    returnTo: entity.returnTo,
    secrets: secretsOf(cookieSecret),
    expiresAt: new Date(entity.expiresAt),
  };
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createTransactionStore(storage: StorageAccount): TransactionStore {
  const table = (): Promise<TableClient> => storage.table(TRANSACTIONS_TABLE);

  async function take(key: string): Promise<TransactionEntity> {
    const client = await table();
    let entity: TransactionEntity & { etag: string };
    try {
      entity = await client.getEntity<TransactionEntity>(key, ROW);
    } catch (error) {
      if (statusOf(error) === 404) throw new SigninError('transaction-unknown');
      throw new AppError('storage-unavailable', 'The sign-in could not be read.', { cause: error });
    }
    try {
      await client.deleteEntity(key, ROW, { etag: entity.etag });
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 412) throw new SigninError('transaction-unknown');
      throw new AppError('storage-unavailable', 'The sign-in could not be completed.', { cause: error });
    }
    return entity;
  }

  async function listExpired(now: Date): Promise<string[]> {
    const client = await table();
    const expired: string[] = [];
    try {
      const rows = client.listEntities<TableEntity>({
        queryOptions: { filter: odata`expiresAt le ${now}`, select: ['PartitionKey'] },
      });
      for await (const row of rows) expired.push(row.partitionKey);
    } catch (error) {
      throw new AppError('storage-unavailable', 'Expired sign-ins could not be listed.', { cause: error });
    }
    return expired;
  }

  return {
    async begin(context, now) {
      const cookieSecret = randomBytes(32).toString('base64url');
      const expiresAt = new Date(now.getTime() + TRANSACTION_LIFETIME_SECONDS * 1000);
      const client = await table();
      try {
        await client.createEntity<TransactionEntity>({
          partitionKey: hashOf(cookieSecret),
          rowKey: ROW,
          ...context,
          expiresAt,
        });
      } catch (error) {
        throw new AppError('storage-unavailable', 'The sign-in could not be started.', { cause: error });
      }
      return { cookieSecret, transaction: { ...context, secrets: secretsOf(cookieSecret), expiresAt } };
    },

    async consume(cookieSecret, now) {
      const transaction = fromTransactionEntity(await take(hashOf(cookieSecret)), cookieSecret);
      if (now.getTime() >= transaction.expiresAt.getTime()) throw new SigninError('transaction-expired');
      return transaction;
    },

    async deleteExpired(now) {
      const expired = await listExpired(now);
      const client = await table();
      for (const partitionKey of expired) {
        try {
          await client.deleteEntity(partitionKey, ROW);
        } catch (error) {
          if (statusOf(error) !== 404) {
            throw new AppError('storage-unavailable', 'An expired sign-in could not be deleted.', {
              cause: error,
            });
          }
        }
      }
      return expired.length;
    },
  };
}
