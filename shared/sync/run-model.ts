import { randomBytes } from 'node:crypto';
import type { ErrorCode } from '../errors.js';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'halted';
export type RunTrigger = 'manual' | 'periodic';

export interface RunCounts {
  added: number;
  granted: number;
  updated: number;
  deactivated: number;
  reactivated: number;
  unchanged: number;
}

/** A run exactly as the management API shows it. */
export interface SyncRun {
  readonly runId: string;
  readonly environment: string;
  readonly trigger: RunTrigger;
  readonly requestedBy: string;
  readonly status: RunStatus;
  readonly queuedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly counts: RunCounts;
  readonly error?: { readonly code: string; readonly message: string };
  readonly haltReason?: 'deactivation-limit';
  /** Present (true) only on a dry run: it listed what a run would change and changed nothing. */
  readonly dryRun?: true;
  /** A dry run where a real run would have halted. */
  readonly wouldHalt?: boolean;
}

/** The settings a dry run tries instead of the stored ones. */
export interface RunPreview {
  readonly tenant?: string;
  readonly groupsToSync?: readonly string[];
}

/** A run with what only the worker needs. */
export interface StoredRun extends SyncRun {
  readonly confirmDeactivations: boolean;
  /** A dry run's proposed settings (absent: the stored ones). */
  readonly preview?: RunPreview;
  /** The tenant the run used, once it has opened it (for health, mails and the run's summary). */
  readonly tenant?: string;
  /** Number of change pages written (see changes.ts). */
  readonly changePages: number;
  /**
   * A halted run's deactivations it did not apply, where an earlier attempt of it applied some of
   * those its counts list (absent: all of them were held back).
   */
  readonly heldBack?: number;
  /** The record's version as read: a save with it fails if anyone wrote the run since. */
  readonly etag?: string;
}

export const ZERO_COUNTS: Readonly<RunCounts> = Object.freeze({
  added: 0,
  granted: 0,
  updated: 0,
  deactivated: 0,
  reactivated: 0,
  unchanged: 0,
});

const MAX_TIME = 9_999_999_999_999;

/** A new run id: sorts newest first within an environment, unique by its random tail. */
export function newRunId(queuedAt: Date, random: Buffer = randomBytes(6)): string {
  const inverted = String(MAX_TIME - queuedAt.getTime()).padStart(13, '0');
  return `${inverted}-${random.toString('hex')}`;
}

export function isRunId(value: string): boolean {
  return /^\d{13}-[0-9a-f]{12}$/.test(value);
}

/** The public shape: what the API answers (internal fields dropped). */
export function toPublicRun(run: StoredRun | SyncRun): SyncRun {
  return {
    runId: run.runId,
    environment: run.environment,
    trigger: run.trigger,
    requestedBy: run.requestedBy,
    status: run.status,
    queuedAt: run.queuedAt,
    ...(run.startedAt ? { startedAt: run.startedAt } : {}),
    ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
    counts: { ...run.counts },
    ...(run.error ? { error: { code: run.error.code, message: run.error.message } } : {}),
    ...(run.haltReason ? { haltReason: run.haltReason } : {}),
    ...(run.dryRun === true ? { dryRun: true as const, wouldHalt: run.wouldHalt === true } : {}),
  };
}

/** Queued or running: the run has not ended yet. */
export function isLive(run: Pick<SyncRun, 'status'>): boolean {
  return run.status === 'queued' || run.status === 'running';
}

/** A run that ended in failure, with a code the API shows. */
export function failedRun(run: StoredRun, code: ErrorCode, message: string, at: Date): StoredRun {
  return {
    ...run,
    status: 'failed',
    finishedAt: at.toISOString(),
    error: { code, message },
  };
}
