import type { Clock } from '../clock.js';
import type { DirectoryReader } from '../directory/reader.js';
import type { DirectoryConnection } from '../directory/token.js';
import type { EnvironmentRecord } from '../environments/repository.js';
import type { StorageAccount } from '../storage/account.js';
import type { StoredRun } from './runs.js';

/** The environments domain, as far as the sync needs it. */
export interface SyncEnvironmentsPort {
  get(environmentId: string): Promise<EnvironmentRecord | undefined>;
  list(): AsyncIterable<EnvironmentRecord>;
}

/** A tenant's connection and the environments it allows (docs/sync-rules.md, "The tenant must allow the environment"). */
export type SyncTenantConnection = DirectoryConnection & { readonly environments: readonly string[] };

/** The tenants domain, as far as the sync needs it: how to reach a tenant's directory. */
export interface SyncTenantsPort {
  getConnection(name: string): Promise<SyncTenantConnection | undefined>;
  /** Which environments the tenant allows (a dry run's proposed tenant is checked against it). */
  get(name: string): Promise<{ readonly environments: readonly string[] } | undefined>;
}

/** Sessions die with access: called with the users whose access a run deactivated. */
export type AccessDeactivatedHandler = (environmentId: string, userIds: readonly string[]) => Promise<void>;

/** Where runs leave the names of the groups they read (never a dry run: it writes nothing else). */
export interface GroupNamesPort {
  record(
    directoryId: string,
    groups: readonly { readonly id: string; readonly displayName: string }[],
    at: Date,
  ): Promise<void>;
}

/**
 * Called as each run ends, however it ends, just before its ended record is written (tenant
 * health, failure mails).
 */
export type RunFinishedHandler = (run: StoredRun) => Promise<void>;

/** Structured logging through the Functions `context`. */
export type RunLog = (message: string, data: Record<string, unknown>) => void;

/** Everything the sync uses that it does not own. */
export interface SyncDeps {
  readonly storage: StorageAccount;
  readonly clock: Clock;
  readonly environments: SyncEnvironmentsPort;
  readonly tenants: SyncTenantsPort;
  readonly openDirectory: (connection: DirectoryConnection) => DirectoryReader;
  readonly onAccessDeactivated: AccessDeactivatedHandler;
  readonly groupNames?: GroupNamesPort;
  readonly onRunFinished?: RunFinishedHandler;
  /** SYNC_SCHEDULE: a periodic tick belongs to one of its slots (default every 15 minutes). */
  readonly periodicSchedule?: string;
}
