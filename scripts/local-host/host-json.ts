import { existsSync, readFileSync } from 'node:fs';
import { DEFAULT_QUEUE_SETTINGS, type QueueListenerSettings } from './queue-listener.js';

/** What the local host reads from host.json: the HTTP route prefix and the queue extension's settings. */
export interface HostJson {
  readonly routePrefix: string;
  readonly queues: QueueListenerSettings;
}

/** `hh:mm:ss` as host.json writes durations. */
export function parseTimeSpan(value: unknown, fallbackMs: number): number {
  if (typeof value !== 'string') return fallbackMs;
  const match = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value);
  if (!match) throw new Error(`host.json: "${value}" is not a hh:mm:ss duration`);
  return (Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3])) * 1000;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

/** A missing file or section means the host's defaults, as for the Functions host. */
export function readHostJson(file: string): HostJson {
  const raw = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  const extensions = (raw.extensions ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const http = extensions.http ?? {};
  const queues = extensions.queues ?? {};
  const defaults = DEFAULT_QUEUE_SETTINGS;
  return {
    routePrefix: typeof http.routePrefix === 'string' ? http.routePrefix.replace(/^\/+|\/+$/g, '') : 'api',
    queues: {
      maxDequeueCount: numberOr(queues.maxDequeueCount, defaults.maxDequeueCount),
      batchSize: numberOr(queues.batchSize, defaults.batchSize),
      visibilityTimeoutMs: parseTimeSpan(queues.visibilityTimeout, defaults.visibilityTimeoutMs),
      maxPollingIntervalMs: parseTimeSpan(queues.maxPollingInterval, defaults.maxPollingIntervalMs),
    },
  };
}
