import type { UsersRepository } from '../users/repository.js';
import { isFresh, listingDigest, type AppliedListing } from './applied-listing.js';
import type { SyncDeps } from './deps.js';
import type { LeaseKeeper } from './lease-keeper.js';
import { identitiesNeeded, planSync, readListedUsers, type ListedUsers, type Plan } from './planner.js';
import { ArrivingAccess } from './arriving-access.js';
import { previewedSettings } from './preview.js';
import type { PhaseTimer } from './summary.js';
import type { Attempt, RunWrites, Source } from './worker-attempt.js';

/** A run's plan, with what its environment's access is once the plan is applied. */
export interface Planned {
  readonly plan: Plan;
  /** The listing the plan applies, as a later run may trust it (`checkedAt`: now). */
  readonly listing: AppliedListing;
  /** Whether every access row was read (not when a periodic run trusted the last listing). */
  readonly readAccess: boolean;
}

export interface ReadSteps {
  readonly openSource: (attempt: Attempt) => Promise<Source | undefined>;
  readonly plan: (attempt: Attempt, source: Source, timer: PhaseTimer) => Promise<Planned>;
}

const NO_COUNTS = { added: 0, granted: 0, updated: 0, deactivated: 0, reactivated: 0 };

/**
 * An attempt's read phase: checks the run's source, then reads and plans without writing anything.
 * Long only as a factory: its body is the short functions below, closed over the deps.
 */
export function createReadSteps(
  deps: SyncDeps,
  { users }: { users: UsersRepository },
  { finish }: Pick<RunWrites, 'finish'>,
): ReadSteps {
  /**
   * The environment's settings and tenant; the run fails when either is gone, or when the tenant no
   * longer lists the environment (docs/sync-rules.md, "The tenant must allow the environment").
   */
  async function openSource(attempt: Attempt): Promise<Source | undefined> {
    const environmentId = attempt.run.environment;
    const environment = await deps.environments.get(environmentId);
    // A dry run tries its proposed settings in place of the stored ones.
    const settings = environment?.externalUsersIntegration
      ? previewedSettings(environment.externalUsers, attempt.run.preview)
      : undefined;
    if (!settings) {
      const message = 'The external users integration is off or not configured.';
      await finish(attempt, { status: 'failed', error: { code: 'integration-disabled', message } });
      return undefined;
    }
    const tenant = await deps.tenants.getConnection(settings.tenant);
    if (!tenant) {
      const message = `Tenant "${settings.tenant}" does not exist.`;
      await finish(attempt, { status: 'failed', error: { code: 'not-found', message } });
      return undefined;
    }
    if (!tenant.environments.includes(environmentId)) {
      const message = `Tenant "${settings.tenant}" no longer lists environment "${environmentId}"; add it to the tenant's environments.`;
      await finish(attempt, { status: 'failed', error: { code: 'tenant-not-allowed', message } });
      return undefined;
    }
    attempt.run = { ...attempt.run, tenant: settings.tenant };
    return {
      settings,
      directoryId: tenant.directoryId.toLowerCase(),
      reader: deps.openDirectory(tenant),
      groups: [],
    };
  }

  async function readDirectory(source: Source, lease: LeaseKeeper): Promise<ListedUsers> {
    return readListedUsers(
      source.reader,
      source.directoryId,
      source.settings.groupsToSync,
      () => Promise.resolve(lease.check()),
      (group) => source.groups.push(group),
    );
  }

  /** A dry run writes nothing but its bookkeeping: it leaves the address index to a real run. */
  async function readAccess(environmentId: string, dryRun: boolean, into: ArrivingAccess): Promise<void> {
    await users.forEachAccessRow(environmentId, (record) => into.add(record), {
      completeEmailIndex: !dryRun,
    });
  }

  /**
   * A periodic run whose listing is the one the last run applied (and checked within a day) has
   * nothing to do: every access row is as that run left it, so they are not read at all. A
   * manual run, a dry run, and any run after a change read every row.
   */
  function trustedListing(attempt: Attempt): AppliedListing | undefined {
    const { run } = attempt;
    if (run.trigger !== 'periodic' || run.preview !== undefined || run.changePages > 0) return undefined;
    const stored = attempt.applied;
    return stored && isFresh(stored, deps.clock.now()) ? stored : undefined;
  }

  type Reads =
    | { readonly kind: 'unchanged'; readonly listed: ListedUsers; readonly trusted: AppliedListing }
    | {
        readonly kind: 'read';
        readonly listed: ListedUsers;
        readonly access: ArrivingAccess;
        /** The listing's digest, where it was made already. */
        readonly digest?: string;
      };

  /**
   * The directory and the access rows side by side, both finished before anything else happens (a
   * failure of either included); after a trusted listing, the directory first, and the access rows
   * only when the listing changed. Rows that arrive once the directory is in are compared with it
   * as they come (`ArrivingAccess`).
   */
  async function readBoth(
    attempt: Attempt,
    source: Source,
    trusted: AppliedListing | undefined,
  ): Promise<Reads> {
    const { run } = attempt;
    const { directoryId, settings } = source;
    const access = new ArrivingAccess();
    if (trusted !== undefined) {
      const listed = await readDirectory(source, attempt.lease);
      const digest = listingDigest(directoryId, settings.groupsToSync, listed);
      if (digest === trusted.digest) return { kind: 'unchanged', listed, trusted };
      access.directoryRead(listed, directoryId, settings.groupsToSync);
      await readAccess(run.environment, false, access);
      return { kind: 'read', listed, digest, access };
    }
    const directory = readDirectory(source, attempt.lease).then((listed) => {
      access.directoryRead(listed, directoryId, settings.groupsToSync);
      return listed;
    });
    const reads = [directory, readAccess(run.environment, run.preview !== undefined, access)] as const;
    await Promise.allSettled(reads);
    const [listed] = await Promise.all(reads);
    return { kind: 'read', listed, access };
  }

  /** The plan of a run whose listing is the trusted one: nothing to do, every row unchanged. */
  function unchanged(trusted: AppliedListing): Planned {
    const plan: Plan = {
      userWrites: [],
      accessWrites: [],
      changes: [],
      counts: { ...NO_COUNTS, unchanged: trusted.rows },
      deactivatedUserIds: [],
      halted: false,
    };
    return { plan, listing: trusted, readAccess: false };
  }

  /**
   * Reads everything before writing anything (docs/sync-rules.md, "Fail closed on directory
   * errors"): a directory error fails the run with nobody touched.
   */
  async function plan(attempt: Attempt, source: Source, timer: PhaseTimer): Promise<Planned> {
    const { run } = attempt;
    const trusted = trustedListing(attempt);
    const reads = await readBoth(attempt, source, trusted);
    timer.mark('readDirectoryAndAccessMs');
    const { listed } = reads;
    if (reads.kind === 'unchanged') {
      listed.clear();
      return unchanged(reads.trusted);
    }
    const { rows: access, settled } = reads.access;
    const digest = reads.digest ?? listingDigest(source.directoryId, source.settings.groupsToSync, listed);
    const needed = identitiesNeeded(listed, access);
    const identities = await users.readIdentities(source.directoryId, needed);
    timer.mark('readIdentitiesMs');
    const result = planSync({
      directoryId: source.directoryId,
      settings: source.settings,
      confirmDeactivations: run.confirmDeactivations,
      listed,
      access,
      identities,
      now: deps.clock.now(),
    });
    const created = result.accessWrites.reduce((count, row) => count + (row.isNew === true ? 1 : 0), 0);
    const rows = access.size + settled + created;
    const listing = { digest, rows, checkedAt: deps.clock.now().toISOString() };
    // The plan holds what it needs; the maps of 100,000 users can go before the writes.
    listed.clear();
    access.clear();
    timer.mark('planMs');
    return { plan: result, listing, readAccess: true };
  }

  return { openSource, plan };
}
