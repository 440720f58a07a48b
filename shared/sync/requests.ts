import { AppError, isAppError } from '../errors.js';
import { forEachLimited } from '../concurrency.js';
import { parseNcrontab } from '../config-parsers.js';
import type { EnvironmentRecord } from '../environments/repository.js';
import type { SyncDeps } from './deps.js';
import { encodeSyncMessage, SYNC_QUEUE } from './messages.js';
import { previewedSettings, proposedTenantName, validatePreview, type PreviewInput } from './preview.js';
import {
  failedRun,
  newRunId,
  toPublicRun,
  type RunPreview,
  ZERO_COUNTS,
  type RunTrigger,
  type StoredRun,
  type SyncRun,
} from './runs.js';
import type { SyncStores } from './stores.js';

/** Environments the timer queues runs for at once. */
const PERIODIC_REQUESTS_IN_FLIGHT = 8;

/** The schedule a periodic tick belongs to when none is given (the setting's default). */
export const DEFAULT_PERIODIC_SCHEDULE = '0 */15 * * * *';
/** Timers may fire a little before their time; such a tick still belongs to the coming slot. */
const EARLY_TICK_TOLERANCE_MS = 5_000;

/**
 * Pure: the schedule slot a periodic tick at `now` belongs to, as the ISO time of the schedule's
 * latest occurrence. Every instance's tick of one occurrence names the same slot, however late it
 * fires, so the slot identifies the tick across instances.
 */
export function periodicSlotOf(schedule: string, now: Date): string {
  const reference = new Date(now.getTime() + EARLY_TICK_TOLERANCE_MS + 1);
  const [slot] = parseNcrontab(schedule).previousRuns(1, reference);
  // A schedule with no earlier occurrence: the tick is its own slot.
  return (slot ?? now).toISOString();
}

export interface RequestSyncInput {
  readonly environmentId: string;
  readonly trigger: RunTrigger;
  readonly requestedBy: string;
  readonly confirmDeactivations: boolean;
  /** A dry run, with the settings it tries instead of the stored ones (validated here). */
  readonly dryRun?: PreviewInput;
}

/** Asking for runs: one manual request, or the timer's periodic ones. */
/** Whether the timer fired on its schedule, or was run by hand. */
export interface PeriodicTick {
  readonly onSchedule: boolean;
}

export interface RunRequests {
  /** Queues a run of the environment: one at a time, and only when configured. */
  requestSync(input: RequestSyncInput): Promise<SyncRun>;
  /**
   * The timer: one periodic run per environment whose integration is on, configured, with
   * periodicSync, and without a live run. A tick of the schedule queues at most one per schedule
   * slot, however many instances tick; a tick run by hand (the admin endpoint) is a tick of its own.
   */
  queuePeriodicRuns(tick: PeriodicTick): Promise<{ queued: string[]; skipped: string[] }>;
}

/** A run needs the integration on and settings to use: stored, or a dry run's complete preview. */
function assertSyncable(environment: EnvironmentRecord, preview: RunPreview | undefined): void {
  if (!environment.externalUsersIntegration || !previewedSettings(environment.externalUsers, preview)) {
    throw new AppError(
      'integration-disabled',
      `The external users integration of "${environment.id}" is off or not configured.`,
    );
  }
}

/** Why a periodic request found nothing to queue: claimed meanwhile, or switched off since the scan. */
function isSkippable(error: unknown): boolean {
  return (
    isAppError(error, 'sync-in-progress') ||
    isAppError(error, 'integration-disabled') ||
    isAppError(error, 'not-found')
  );
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createRunRequests(deps: SyncDeps, stores: SyncStores): RunRequests {
  const { leases, runs } = stores;

  async function failStaleRun(environmentId: string, runId: string, now: Date): Promise<void> {
    const run = await runs.getStoredRun(environmentId, runId);
    if (run && (run.status === 'queued' || run.status === 'running')) {
      try {
        await runs.saveRun(
          failedRun(run, 'internal', 'The run stopped without finishing (its lease expired).', now),
        );
      } catch (error) {
        // Its worker or a reader wrote the run meanwhile: theirs is the last word.
        if (!isAppError(error, 'conflict')) throw error;
      }
    }
  }

  /** Stores the run and queues its message; on failure the environment is freed again. */
  async function enqueue(run: StoredRun): Promise<void> {
    try {
      await runs.createRun(run);
      const queue = await deps.storage.queue(SYNC_QUEUE);
      await queue.sendMessage(encodeSyncMessage({ runId: run.runId, environmentId: run.environment }));
    } catch (error) {
      await leases.releaseLease(run.environment, run.runId);
      throw isAppError(error)
        ? error
        : new AppError('storage-unavailable', 'The run could not be queued.', { cause: error });
    }
  }

  async function previewOf(input: RequestSyncInput): Promise<RunPreview | undefined> {
    if (input.dryRun === undefined) return undefined;
    const name = proposedTenantName(input.dryRun);
    const tenant = name === undefined ? undefined : await deps.tenants.get(name);
    return validatePreview(input.dryRun, input.environmentId, tenant);
  }

  /** Queues a run; a periodic one names its schedule slot and is not queued twice for it. */
  async function queueRun(input: RequestSyncInput): Promise<SyncRun>;
  async function queueRun(input: RequestSyncInput, periodicSlot: string): Promise<SyncRun | 'slot-taken'>;
  async function queueRun(input: RequestSyncInput, periodicSlot?: string): Promise<SyncRun | 'slot-taken'> {
    const environment = await deps.environments.get(input.environmentId);
    if (!environment) throw new AppError('not-found', `Environment "${input.environmentId}" does not exist.`);
    // A tenant that no longer lists the environment fails the run in the worker, where the failure
    // is recorded and its owners told (docs/sync-rules.md, "The tenant must allow the environment").
    const preview = environment.externalUsersIntegration ? await previewOf(input) : undefined;
    assertSyncable(environment, preview);
    const now = deps.clock.now();
    const runId = newRunId(now);
    const claim = await leases.claimForQueuedRun(input.environmentId, runId, now, periodicSlot);
    if (claim.kind === 'slot-taken') return 'slot-taken';
    if (claim.kind === 'busy') {
      throw new AppError('sync-in-progress', `A sync of "${input.environmentId}" is queued or running.`, {
        extensions: { runId: claim.runId },
      });
    }
    if (claim.staleRunId !== undefined) await failStaleRun(input.environmentId, claim.staleRunId, now);
    const run: StoredRun = {
      runId,
      environment: input.environmentId,
      trigger: input.trigger,
      requestedBy: input.requestedBy,
      status: 'queued',
      queuedAt: now.toISOString(),
      counts: { ...ZERO_COUNTS },
      // docs/sync-rules.md, "Deactivation limit": periodic runs never carry the confirmation.
      confirmDeactivations: input.trigger === 'manual' && input.confirmDeactivations,
      changePages: 0,
      ...(preview ? { dryRun: true as const, wouldHalt: false, preview } : {}),
    };
    await enqueue(run);
    return toPublicRun(run);
  }

  const requestSync = (input: RequestSyncInput): Promise<SyncRun> => queueRun(input);

  /** Two scans (environments, sync states), then writes only for the environments that get a run. */
  async function queuePeriodicRuns(tick: PeriodicTick): Promise<{ queued: string[]; skipped: string[] }> {
    const now = deps.clock.now();
    const slot = tick.onSchedule
      ? periodicSlotOf(deps.periodicSchedule ?? DEFAULT_PERIODIC_SCHEDULE, now)
      : undefined;
    const busy = await leases.listBusyEnvironments(now);
    const queued: string[] = [];
    const skipped: string[] = [];
    const eligible: string[] = [];
    for await (const environment of deps.environments.list()) {
      if (!environment.externalUsersIntegration || environment.externalUsers?.periodicSync !== true) continue;
      if (busy.has(environment.id)) skipped.push(environment.id);
      else eligible.push(environment.id);
    }
    await forEachLimited(eligible, PERIODIC_REQUESTS_IN_FLIGHT, async (environmentId) => {
      try {
        const input = {
          environmentId,
          trigger: 'periodic',
          requestedBy: 'schedule',
          confirmDeactivations: false,
        } as const;
        const run = slot === undefined ? await queueRun(input) : await queueRun(input, slot);
        (run === 'slot-taken' ? skipped : queued).push(environmentId);
      } catch (error) {
        if (!isSkippable(error)) throw error;
        skipped.push(environmentId);
      }
    });
    return { queued, skipped };
  }

  return { requestSync, queuePeriodicRuns };
}
