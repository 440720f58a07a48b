import type { QueueClient } from '@azure/storage-queue';

/** The queue extension's settings (host.json `extensions.queues`) that the local host honours. */
export interface QueueListenerSettings {
  readonly maxDequeueCount: number;
  readonly visibilityTimeoutMs: number;
  readonly batchSize: number;
  readonly maxPollingIntervalMs: number;
}

export const DEFAULT_QUEUE_SETTINGS: QueueListenerSettings = {
  maxDequeueCount: 5,
  visibilityTimeoutMs: 0,
  batchSize: 16,
  maxPollingIntervalMs: 60_000,
};

export interface QueueMessageMetadata {
  id: string;
  popReceipt: string;
  dequeueCount: number;
  insertionTime: string;
  expirationTime: string;
  nextVisibleTime: string;
}

export type QueueMessageHandler = (payload: unknown, metadata: QueueMessageMetadata) => Promise<void>;

/** How long the host keeps a message invisible while a function works on it. */
const PROCESSING_LEASE_SECONDS = 600;
const MIN_POLL_MS = 100;

/** The queue extension decodes base64 and hands JSON over parsed, anything else as a string. */
export function decodeQueueMessage(messageText: string): unknown {
  const text = Buffer.from(messageText, 'base64').toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON: the extension passes the text through unchanged.
    return text;
  }
}

/**
 * Polls one queue the way the Functions queue extension does: batches, a lease per message while
 * the function runs, back-off when the queue is empty or storage fails, and after `maxDequeueCount`
 * failed attempts the message moves to `<queue>-poison`. The queue is opened (and created) by the
 * loop itself, so a host started while storage is down listens as soon as storage is back.
 */
export class QueueListener {
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private queue: QueueClient | undefined;

  constructor(
    private readonly openQueue: () => Promise<QueueClient>,
    private readonly poisonQueue: () => Promise<QueueClient>,
    private readonly settings: QueueListenerSettings,
    private readonly handler: QueueMessageHandler,
    private readonly onError: (error: unknown) => void,
    private readonly onRecovered?: () => void,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    let delay = MIN_POLL_MS;
    let failing = false;
    while (!this.stopped) {
      let received = 0;
      try {
        this.queue ??= await this.openQueue();
        const queue = this.queue;
        const capacity = this.settings.batchSize - this.inFlight.size;
        if (capacity > 0) {
          const response = await queue.receiveMessages({
            numberOfMessages: Math.min(32, capacity),
            visibilityTimeout: PROCESSING_LEASE_SECONDS,
          });
          received = response.receivedMessageItems.length;
          for (const message of response.receivedMessageItems) {
            const work = this.process(queue, message).finally(() => this.inFlight.delete(work));
            this.inFlight.add(work);
          }
        }
        if (failing) this.onRecovered?.();
        failing = false;
      } catch (error) {
        // One line per outage, not one per poll: the loop keeps backing off until storage answers.
        if (!failing) this.onError(error);
        failing = true;
      }
      delay = received > 0 ? MIN_POLL_MS : Math.min(delay * 2, this.settings.maxPollingIntervalMs);
      if (!this.stopped) await this.sleep(received > 0 ? 0 : delay);
    }
  }

  private async process(
    queue: QueueClient,
    message: {
      messageId: string;
      popReceipt: string;
      messageText: string;
      dequeueCount: number;
      insertedOn: Date;
      expiresOn: Date;
      nextVisibleOn: Date;
    },
  ): Promise<void> {
    const metadata: QueueMessageMetadata = {
      id: message.messageId,
      popReceipt: message.popReceipt,
      dequeueCount: message.dequeueCount,
      insertionTime: message.insertedOn.toISOString(),
      expirationTime: message.expiresOn.toISOString(),
      nextVisibleTime: message.nextVisibleOn.toISOString(),
    };
    let failed = false;
    try {
      await this.handler(decodeQueueMessage(message.messageText), metadata);
    } catch (error) {
      failed = true;
      this.onError(error);
    }
    try {
      if (!failed) {
        await queue.deleteMessage(message.messageId, message.popReceipt);
      } else if (message.dequeueCount >= this.settings.maxDequeueCount) {
        const poison = await this.poisonQueue();
        await poison.sendMessage(message.messageText);
        await queue.deleteMessage(message.messageId, message.popReceipt);
      } else {
        await queue.updateMessage(
          message.messageId,
          message.popReceipt,
          undefined,
          Math.floor(this.settings.visibilityTimeoutMs / 1000),
        );
      }
    } catch (error) {
      // The lease runs out and the message comes back: the same outcome the host has here.
      this.onError(error);
    }
  }
}
