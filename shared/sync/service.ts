import { randomBytes } from 'node:crypto';
import { clock } from '../clock.js';
import { AppError, isAppError, toAppError, type ErrorCode } from '../errors.js';
import { getEnvironment, listEnvironments, type EnvironmentRecord } from '../environments/repository.js';
import { getTenantConnection } from '../tenants/repository.js';
import { storage } from '../storage/account.js';
import { createDirectoryReader, type DirectoryReader, type ReaderOptions } from '../directory/reader.js';
import type { DirectoryConnection } from '../directory/token.js';
import { forEachAccessRow, readIdentities, type EnvironmentUser } from '../users/repository.js';
import { readChanges, writeChanges, type ChangesPage } from './changes.js';
import { executePlan, type BatchInfo } from './executor.js';
import {
  claimForQueuedRun,
  listBusyEnvironments,
  releaseLease,
  renewLease,
  RENEW_AFTER_MS,
  startLease,
} from './lease.js';
import { collectListedUsers, identitiesNeeded, planSync, type ListedUser, type Plan } from './planner.js';
import {
  createRun,
  failedRun,
  getStoredRun,
  listRuns,
  newRunId,
  saveRun,
  settleRun,
  toPublicRun,
  ZERO_COUNTS,
  type RunTrigger,
  type StoredRun,
  type SyncRun,
} from './runs.js';

/** The queue of runs to execute; the Functions host moves a message failing 5 times to `-poison`. */
export const SYNC_QUEUE = 'sync-runs';
export const SYNC_POISON_QUEUE = `${SYNC_QUEUE}-poison`;

export interface SyncMessage {
  readonly runId: string;
  readonly environmentId: string;
}

// ---------------------------------------------------------------------------------------------
// Port: sessions die with access (interface 6). The lead wires it to revokeUserSessions.

export type AccessDeactivatedHandler = (environmentId: string, userIds: readonly string[]) => Promise<void>;
let onAccessDeactivated: AccessDeactivatedHandler = async () => {};

export function setAccessDeactivatedHandler(handler: AccessDeactivatedHandler | undefined): void {
  onAccessDeactivated = handler ?? (async () => {});
}

// ---------------------------------------------------------------------------------------------
// Requesting runs

export interface RequestSyncInput {
  readonly environmentId: string;
  readonly trigger: RunTrigger;
  readonly requestedBy: string;
  readonly confirmDeactivations: boolean;
}

function assertSyncable(
  environment: EnvironmentRecord | undefined,
  environmentId: string,
): EnvironmentRecord {
  if (!environment) throw new AppError('not-found', `Environment "${environmentId}" does not exist.`);
  if (!environment.externalUsersIntegration || !environment.externalUsers) {
    throw new AppError(
      'integration-disabled',
      `The external users integration of "${environmentId}" is off or not configured.`,
    );
  }
  return environment;
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

async function failStaleRun(environmentId: string, runId: string, now: Date): Promise<void> {
  const run = await getStoredRun(environmentId, runId);
  if (run && (run.status === 'queued' || run.status === 'running')) {
    await saveRun(failedRun(run, 'internal', 'The run stopped without finishing (its lease expired).', now));
  }
}

/** Queues a run of the environment (contract §3.4): one at a time, and only when configured. */
export async function requestSync(input: RequestSyncInput): Promise<SyncRun> {
  assertSyncable(await getEnvironment(input.environmentId), input.environmentId);
  const now = clock().now();
  const runId = newRunId(now);
  const claim = await claimForQueuedRun(input.environmentId, runId, now);
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
    // Periodic runs never carry the confirmation (rule 9).
    confirmDeactivations: input.trigger === 'manual' && input.confirmDeactivations,
    changePages: 0,
  };
  try {
    await createRun(run);
    const queue = await storage().queue(SYNC_QUEUE);
    await queue.sendMessage(encodeSyncMessage({ runId, environmentId: input.environmentId }));
  } catch (error) {
    await releaseLease(input.environmentId, runId);
    throw isAppError(error)
      ? error
      : new AppError('storage-unavailable', 'The run could not be queued.', { cause: error });
  }
  return toPublicRun(run);
}

/**
 * The timer (contract §5): one periodic run per environment whose integration is on, configured,
 * with periodicSync, and without a live run. Two scans (environments, sync states) and then only
 * writes for the environments that get a run.
 */
export async function queuePeriodicRuns(): Promise<{ queued: string[]; skipped: string[] }> {
  const now = clock().now();
  const busy = await listBusyEnvironments(now);
  const queued: string[] = [];
  const skipped: string[] = [];
  const eligible: string[] = [];
  for await (const environment of listEnvironments()) {
    if (!environment.externalUsersIntegration || environment.externalUsers?.periodicSync !== true) continue;
    if (busy.has(environment.id)) skipped.push(environment.id);
    else eligible.push(environment.id);
  }
  const work = [...eligible];
  const worker = async (): Promise<void> => {
    for (let id = work.shift(); id !== undefined; id = work.shift()) {
      try {
        await requestSync({
          environmentId: id,
          trigger: 'periodic',
          requestedBy: 'schedule',
          confirmDeactivations: false,
        });
        queued.push(id);
      } catch (error) {
        // Claimed meanwhile by a manual request, or switched off since the scan: nothing to queue.
        if (
          isAppError(error, 'sync-in-progress') ||
          isAppError(error, 'integration-disabled') ||
          isAppError(error, 'not-found')
        ) {
          skipped.push(id);
        } else {
          throw error;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { queued, skipped };
}

// ---------------------------------------------------------------------------------------------
// Reading runs

export async function getSyncRun(environmentId: string, runId: string): Promise<SyncRun> {
  const run = await getStoredRun(environmentId, runId);
  if (!run) throw new AppError('not-found', `Sync run "${runId}" does not exist.`);
  return toPublicRun(await settleRun(run));
}

export async function listSyncRuns(environmentId: string, limit: number): Promise<SyncRun[]> {
  if (!(await getEnvironment(environmentId))) {
    throw new AppError('not-found', `Environment "${environmentId}" does not exist.`);
  }
  return listRuns(environmentId, limit);
}

export async function getRunChanges(
  environmentId: string,
  runId: string,
  continuationToken: string | undefined,
): Promise<ChangesPage> {
  const run = await getStoredRun(environmentId, runId);
  if (!run) throw new AppError('not-found', `Sync run "${runId}" does not exist.`);
  return readChanges(runId, continuationToken);
}

// ---------------------------------------------------------------------------------------------
// Executing runs (the queue worker)

export interface WorkerOptions {
  /** How to read the directory (tests: retry policy, sleep). */
  readonly reader?: ReaderOptions;
  readonly makeReader?: (connection: DirectoryConnection, options: ReaderOptions) => DirectoryReader;
  /** After each write batch (tests stop a worker here). */
  readonly afterBatch?: (info: BatchInfo) => Promise<void>;
  readonly concurrency?: number;
  readonly log?: (message: string, data: Record<string, unknown>) => void;
}

export type WorkerOutcome = 'succeeded' | 'failed' | 'halted' | 'skipped';

const DIRECTORY_CODES: readonly ErrorCode[] = [
  'directory-auth-failed',
  'directory-group-not-found',
  'directory-forbidden',
  'directory-throttled',
  'directory-unavailable',
  'directory-malformed',
];

/**
 * Thrown-away state of one worker attempt: the lease it holds and when it last renewed it. Batches
 * run concurrently; they share one renewal in flight, since a second conditional write would lose
 * to the first and read as a lost lease.
 */
class Heartbeat {
  private renewedAt: number;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly environmentId: string,
    private readonly runId: string,
    private readonly owner: string,
  ) {
    this.renewedAt = clock().now().getTime();
  }

  beat(): Promise<void> {
    if (this.pending) return this.pending;
    const now = clock().now();
    if (now.getTime() - this.renewedAt < RENEW_AFTER_MS) return Promise.resolve();
    this.pending = renewLease(this.environmentId, this.runId, this.owner, now)
      .then(() => {
        this.renewedAt = now.getTime();
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}

async function readDirectory(
  reader: DirectoryReader,
  groups: readonly string[],
  heartbeat: Heartbeat,
): Promise<Map<string, ListedUser>> {
  const listed = new Map<string, ListedUser>();
  for (const group of groups) {
    await reader.readGroup(group);
    for await (const page of reader.listGroupUsers(group)) {
      collectListedUsers(listed, group, page);
      await heartbeat.beat();
    }
  }
  return listed;
}

async function readAccess(environmentId: string): Promise<Map<string, EnvironmentUser>> {
  const access = new Map<string, EnvironmentUser>();
  await forEachAccessRow(environmentId, (record) => access.set(record.id, record));
  return access;
}

async function finish(run: StoredRun, owner: string, update: Partial<StoredRun>): Promise<void> {
  await saveRun({ ...run, ...update, finishedAt: clock().now().toISOString() });
  await releaseLease(run.environment, run.runId, { owner });
}

/** Executes one queued run (the queue trigger's service). */
export async function executeSyncRun(entry: unknown, options: WorkerOptions = {}): Promise<WorkerOutcome> {
  const log = options.log ?? (() => {});
  const message = parseSyncMessage(entry);
  const stored = await getStoredRun(message.environmentId, message.runId);
  if (!stored) {
    log('sync message names no run; dropped', { ...message });
    return 'skipped';
  }
  if (stored.status !== 'queued' && stored.status !== 'running') return 'skipped';

  const owner = randomBytes(8).toString('hex');
  const start = await startLease(stored.environment, stored.runId, owner, clock().now());
  if (start.kind === 'held') return 'skipped';
  if (start.kind === 'lost') {
    const reason = start.expired
      ? 'The run stopped without finishing (its lease expired).'
      : 'Another run of this environment took over.';
    await saveRun(failedRun(stored, 'internal', reason, clock().now()));
    return 'failed';
  }

  let run: StoredRun = { ...stored, status: 'running', startedAt: clock().now().toISOString() };
  await saveRun(run);
  const heartbeat = new Heartbeat(run.environment, run.runId, owner);
  try {
    const environment = await getEnvironment(run.environment);
    const settings = environment?.externalUsersIntegration ? environment.externalUsers : undefined;
    if (!settings) {
      await finish(run, owner, {
        status: 'failed',
        error: {
          code: 'integration-disabled',
          message: 'The external users integration is off or not configured.',
        },
      });
      return 'failed';
    }
    const tenant = await getTenantConnection(settings.tenant);
    if (!tenant) {
      await finish(run, owner, {
        status: 'failed',
        error: { code: 'not-found', message: `Tenant "${settings.tenant}" does not exist.` },
      });
      return 'failed';
    }
    const directoryId = tenant.directoryId.toLowerCase();
    const reader = (options.makeReader ?? createDirectoryReader)(tenant, options.reader ?? {});

    // Read everything before writing anything: a directory error fails the run with nobody touched.
    const phases: Record<string, number> = {};
    let mark = performance.now();
    const phase = (name: string): void => {
      const now = performance.now();
      phases[name] = Math.round(now - mark);
      mark = now;
    };
    const listed = await readDirectory(reader, settings.groupsToSync, heartbeat);
    phase('readDirectoryMs');
    const access = await readAccess(run.environment);
    phase('readAccessMs');
    const identities = await readIdentities(directoryId, identitiesNeeded(directoryId, listed, access));
    phase('readIdentitiesMs');
    const plan: Plan = planSync({
      directoryId,
      settings,
      confirmDeactivations: run.confirmDeactivations,
      listed,
      access: access.values(),
      identities,
      now: clock().now(),
    });
    listed.clear();
    access.clear();
    phase('planMs');

    await executePlan(run.environment, directoryId, plan, {
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      afterBatch: async (info) => {
        await heartbeat.beat();
        await options.afterBatch?.(info);
      },
    });
    phase('writeMs');
    if (plan.deactivatedUserIds.length > 0) {
      await onAccessDeactivated(run.environment, plan.deactivatedUserIds);
    }
    const changePages = await writeChanges(run.runId, plan.changes);
    phase('changesMs');
    run = { ...run, counts: plan.counts, changePages };
    if (plan.halted) {
      await finish(run, owner, { status: 'halted', haltReason: 'deactivation-limit' });
      return 'halted';
    }
    await finish(run, owner, { status: 'succeeded' });
    log('sync run finished', {
      runId: run.runId,
      environment: run.environment,
      counts: plan.counts,
      ...phases,
    });
    return 'succeeded';
  } catch (error) {
    const appError = toAppError(error);
    if (DIRECTORY_CODES.includes(appError.code)) {
      await finish(run, owner, {
        status: 'failed',
        error: { code: appError.code, message: appError.message },
      });
      log('sync run failed on the directory', { runId: run.runId, code: appError.code });
      return 'failed';
    }
    // Anything else may be transient (storage): hand the run back to the queue, which retries the
    // message and, after 5 failures, moves it to the poison queue where it is marked failed.
    await saveRun({ ...run, status: 'queued' });
    await releaseLease(run.environment, run.runId, { owner, requeueAt: clock().now() });
    throw error;
  }
}

/** A message the host gave up on: its run is marked failed and frees the environment. */
export async function failPoisonedRun(entry: unknown): Promise<void> {
  const message = parseSyncMessage(entry);
  const run = await getStoredRun(message.environmentId, message.runId);
  if (!run || (run.status !== 'queued' && run.status !== 'running')) return;
  await saveRun(failedRun(run, 'internal', 'The run failed repeatedly and was abandoned.', clock().now()));
  await releaseLease(run.environment, run.runId);
}
