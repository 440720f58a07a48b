import type { DirectoryReader } from '../directory/reader.js';
import type { ExternalUsersSettings } from '../environments/repository.js';
import type { AppliedListing } from './applied-listing.js';
import type { BatchInfo } from './executor.js';
import type { LeaseKeeper, LeaseTiming } from './lease-keeper.js';
import type { StoredRun } from './runs.js';
import type { PhaseTimer } from './summary.js';

export interface WorkerOptions {
  /** After each write batch (tests stop a worker here). */
  readonly afterBatch?: (info: BatchInfo) => Promise<void>;
  readonly concurrency?: number;
  readonly log?: (message: string, data: Record<string, unknown>) => void;
  /** How long the running lease lasts and how often it is renewed (tests shorten both). */
  readonly leaseTiming?: LeaseTiming;
}

export type WorkerOutcome = 'succeeded' | 'failed' | 'halted' | 'skipped';

/** What one attempt holds while it runs: the run as last saved, and its lease. */
export interface Attempt {
  run: StoredRun;
  readonly owner: string;
  readonly lease: LeaseKeeper;
  readonly timer: PhaseTimer;
  readonly log: NonNullable<WorkerOptions['log']>;
  /**
   * The listing the environment's access is in, as the attempt will leave it in the lease row: the
   * last run's at first, none once it may have written, the one it applied when done.
   */
  applied: AppliedListing | undefined;
}

/** A run's source once checked: its settings and how to read its directory. */
export interface Source {
  readonly settings: ExternalUsersSettings;
  readonly directoryId: string;
  readonly reader: DirectoryReader;
  /** The groups' display names, as the directory read gives them. */
  readonly groups: { id: string; displayName: string }[];
}

/** Passed to the read and write steps so that every save of the run goes through the attempt's ownership check. */
export interface RunWrites {
  /** Saves the run only while the attempt still owns it. */
  readonly save: (attempt: Attempt, update: Partial<StoredRun>) => Promise<void>;
  /** Settles the run with its outcome and frees the environment. */
  readonly finish: (attempt: Attempt, update: Partial<StoredRun>) => Promise<void>;
}
