import type { Timer } from '@azure/functions';
import type { QueueClient } from '@azure/storage-queue';
import { Cron } from 'croner';
import type { Env } from '../../shared/config.js';
import type { BoundRegistration as Registration } from '../../shared/host/registry.js';
import { formatLogArgs, type Invoker } from './invoker.js';
import { QueueListener, type QueueListenerSettings } from './queue-listener.js';
import { resolveSettingReferences } from './settings.js';

export type TimerRegistration = Extract<Registration, { kind: 'timer' }>;
export type QueueRegistration = Extract<Registration, { kind: 'storageQueue' }>;
export type NonHttpRegistration = TimerRegistration | QueueRegistration;

export function isNonHttp(registration: Registration): registration is NonHttpRegistration {
  return registration.kind !== 'http';
}

/**
 * The timer binding's value: never past due, since the local host keeps no schedule monitor. A tick
 * of the schedule (`cron` given) carries a schedule status; a tick run by hand has none, as under
 * the Functions host, whose typings nevertheless call it always present.
 */
function timerInput(cron: Cron | undefined): Timer {
  const now = new Date().toISOString();
  const timer = { isPastDue: false, schedule: { adjustForDST: true } };
  if (cron === undefined) return timer as Timer;
  return {
    ...timer,
    scheduleStatus: { last: now, next: cron.nextRun()?.toISOString() ?? now, lastUpdated: now },
  };
}

/**
 * Runs a non-HTTP function once: a timer gets its timer value (`cron`, on a tick of its schedule,
 * tells its next run), a queue function gets `input`, as from a message or an admin call.
 */
export async function runNonHttp(
  invoker: Invoker,
  registration: NonHttpRegistration,
  input: unknown,
  reason: string,
  cron?: Cron,
): Promise<void> {
  if (registration.kind === 'timer') {
    const timer = timerInput(cron);
    await invoker.run(registration.name, reason, (context) => registration.options.handler(timer, context));
  } else {
    await invoker.run(registration.name, reason, (context) => registration.options.handler(input, context));
  }
}

/**
 * Every timer on its NCRONTAB schedule (6 fields, UTC), by name. `protect` skips a tick while the
 * previous run is still going, as the host's singleton lock does.
 */
export function startTimers(
  registrations: readonly Registration[],
  env: Env,
  invoker: Invoker,
): Map<string, Cron> {
  const crons = new Map<string, Cron>();
  for (const registration of registrations) {
    if (registration.kind !== 'timer') continue;
    const schedule = resolveSettingReferences(registration.options.schedule, env);
    const cron = new Cron(schedule, { mode: '6-part', timezone: 'Etc/UTC', protect: true }, async () => {
      const reason = `Timer fired at ${new Date().toISOString()}`;
      try {
        await runNonHttp(invoker, registration, undefined, reason, crons.get(registration.name));
      } catch (error) {
        invoker.log(`timer ${registration.name} failed: ${formatLogArgs([error])}`);
      }
    });
    crons.set(registration.name, cron);
    if (registration.options.runOnStartup) void cron.trigger();
  }
  return crons;
}

/**
 * A listener per storage-queue function, polling like the queue extension; all started. No storage
 * call happens here: each listener opens its queue when it first polls, backing off while it fails.
 */
export function startQueueListeners(
  registrations: readonly Registration[],
  env: Env,
  settings: QueueListenerSettings,
  openQueue: (name: string) => Promise<QueueClient>,
  invoker: Invoker,
): QueueListener[] {
  const listeners: QueueListener[] = [];
  for (const registration of registrations) {
    if (registration.kind !== 'storageQueue') continue;
    if (registration.options.connection !== 'AzureWebJobsStorage') {
      throw new Error(`${registration.name}: only the AzureWebJobsStorage connection is supported locally`);
    }
    const queueName = resolveSettingReferences(registration.options.queueName, env);
    const reason = `New queue message detected on '${queueName}'.`;
    const listener = new QueueListener(
      () => openQueue(queueName),
      () => openQueue(`${queueName}-poison`),
      settings,
      async (payload, metadata) => {
        const triggerMetadata = { ...metadata };
        await invoker.run(
          registration.name,
          reason,
          (context) => registration.options.handler(payload, context),
          {
            triggerMetadata,
          },
        );
      },
      (error) => invoker.log(`queue ${queueName}: ${formatLogArgs([error])}`),
      () => invoker.log(`queue ${queueName}: storage answers again, polling resumed`),
    );
    listener.start();
    listeners.push(listener);
  }
  return listeners;
}
