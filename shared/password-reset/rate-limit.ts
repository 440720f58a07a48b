import { createHash } from 'node:crypto';
import { type TableClient, type TableEntity } from '@azure/data-tables';
import { AppError } from '../errors.js';
import type { StorageAccount } from '../storage/account.js';
import { statusOf } from '../storage/errors.js';
import { writeIfUnchanged } from '../storage/entities.js';

/**
 * Password reset mails per address, a sliding window kept in Table storage so that every
 * instance of the app counts the same mails. Addresses are stored only as hashes.
 */
export const MAIL_LIMIT_TABLE = 'passwordresetmails';
export const MAILS_PER_WINDOW = 5;
export const WINDOW_MS = 60 * 60 * 1000;

interface LimitEntity extends TableEntity {
  /** JSON array of ISO times of the mails sent within the window. */
  sent: string;
}

/** Pure: the times still inside the window, and whether one more is allowed. */
export function slidingWindow(
  sent: readonly string[],
  now: Date,
  limit = MAILS_PER_WINDOW,
  windowMs = WINDOW_MS,
): { allowed: boolean; kept: string[] } {
  const since = now.getTime() - windowMs;
  const kept = sent.filter((at) => Date.parse(at) > since);
  return { allowed: kept.length < limit, kept };
}

export function addressKey(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
}

export interface MailLimiter {
  /**
   * Takes one mail from the address's allowance; false when the window is full. Optimistic
   * concurrency makes two instances racing for the last slot agree.
   */
  take(email: string, now: Date): Promise<boolean>;
}

export function createMailLimiter(storage: StorageAccount): MailLimiter {
  async function read(
    client: TableClient,
    partitionKey: string,
  ): Promise<(LimitEntity & { etag: string }) | undefined> {
    try {
      return await client.getEntity<LimitEntity>(partitionKey, 'mail');
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new AppError('storage-unavailable', 'Mail limits could not be read.', { cause: error });
    }
  }

  return {
    async take(email, now) {
      const client = await storage.table(MAIL_LIMIT_TABLE);
      const partitionKey = addressKey(email);
      for (let attempt = 0; attempt < 5; attempt++) {
        const existing = await read(client, partitionKey);
        const sent = existing ? (JSON.parse(existing.sent) as string[]) : [];
        const { allowed, kept } = slidingWindow(sent, now);
        if (!allowed) return false;
        const entity: LimitEntity = {
          partitionKey,
          rowKey: 'mail',
          sent: JSON.stringify([...kept, now.toISOString()]),
        };
        if (await writeIfUnchanged(client, entity, existing, 'Mail limits could not be written.'))
          return true;
      }
      throw new AppError('storage-unavailable', 'Mail limits are contended; try again.');
    },
  };
}
