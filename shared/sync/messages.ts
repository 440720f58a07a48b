import { AppError } from '../errors.js';

/** The queue of runs to execute; the Functions host moves a message failing 5 times to `-poison`. */
export const SYNC_QUEUE = 'sync-runs';
export const SYNC_POISON_QUEUE = `${SYNC_QUEUE}-poison`;

/** What a queued run's message carries. */
export interface SyncMessage {
  readonly runId: string;
  readonly environmentId: string;
}

/** Encoded as the Functions host expects with `messageEncoding: base64`. */
export function encodeSyncMessage(message: SyncMessage): string {
  return Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
}

/** The host hands over the decoded message, parsed when it is JSON; accept every form. */
export function parseSyncMessage(entry: unknown): SyncMessage {
  let value: unknown = entry;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    const text = value.trim();
    const json = text.startsWith('{') ? text : Buffer.from(text, 'base64').toString('utf8');
    try {
      value = JSON.parse(json) as unknown;
    } catch (error) {
      throw new AppError('validation', 'The sync message is not JSON.', { cause: error });
    }
  }
  const message = value as Partial<SyncMessage> | null;
  if (typeof message?.runId !== 'string' || typeof message.environmentId !== 'string') {
    throw new AppError('validation', 'The sync message does not name a run.');
  }
  return { runId: message.runId, environmentId: message.environmentId };
}
