import { decodeQueueMessage } from '../../scripts/local-host/queue-listener.js';
import { testServices } from './storage.js';

/**
 * When this file's tests began (module state is per test file), less a second: queue timestamps
 * come in whole seconds.
 */
const FILE_STARTED_MS = Date.now() - 1000;

/**
 * Whether a message was left by a file that ran earlier on this worker's account: a host killed
 * mid-run leaves its message to reappear once its visibility ends, with a tenant of that file's
 * own settings (its secrets key, say). No test of this file queued it.
 */
function leftByAnEarlierFile(message: { insertedOn: Date }): boolean {
  return message.insertedOn.getTime() < FILE_STARTED_MS;
}

/**
 * Receives every message of `queueName` on this worker's account and hands each (decoded as the
 * host decodes it) to `handle`, deleting it after; returns how many were handled. This is what the
 * host's queue listener does, minus the polling, so a test runs queued work at a moment it chooses.
 * Messages left by earlier files are removed unhandled.
 */
export async function drainQueue(
  queueName: string,
  handle: (message: unknown) => Promise<void>,
): Promise<number> {
  const queue = await testServices().storage.queue(queueName);
  let handled = 0;
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 60,
    });
    if (receivedMessageItems.length === 0) return handled;
    for (const message of receivedMessageItems) {
      if (!leftByAnEarlierFile(message)) {
        await handle(decodeQueueMessage(message.messageText));
        handled++;
      }
      await queue.deleteMessage(message.messageId, message.popReceipt);
    }
  }
}

/**
 * Takes the next message off `queueName` (as a host instance would) without running it. Messages
 * for which `belongs` is false were left by files that ran earlier on this worker's account: they
 * are removed and passed over, so they can never stand in for the message a test waits for.
 */
export async function takeMessage(
  queueName: string,
  belongs: (message: unknown) => boolean = () => true,
): Promise<unknown> {
  const queue = await testServices().storage.queue(queueName);
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: 1,
      visibilityTimeout: 60,
    });
    const message = receivedMessageItems[0];
    if (!message) throw new Error(`no message queued on ${queueName}`);
    await queue.deleteMessage(message.messageId, message.popReceipt);
    const decoded = decodeQueueMessage(message.messageText);
    if (belongs(decoded)) return decoded;
  }
}

/** A sync message of this environment (the queue is shared by every file on this account). */
export function ofEnvironment(environmentId: string): (message: unknown) => boolean {
  return (message) => (message as { environmentId?: unknown }).environmentId === environmentId;
}
