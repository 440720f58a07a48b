import type { Clock } from '../clock.js';
import { AppError, isAppError } from '../errors.js';
import { RENEW_EVERY_MS, RUNNING_LEASE_MS, type Leases } from './lease.js';

/** How long a running lease lasts and how often it is renewed (tests shorten both). */
export interface LeaseTiming {
  readonly durationMs: number;
  readonly renewEveryMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = Object.freeze({
  durationMs: RUNNING_LEASE_MS,
  renewEveryMs: RENEW_EVERY_MS,
});

/**
 * A running lease kept alive on a timer for as long as its worker runs, whatever the worker is
 * waiting on (a token, a retry pause, a slow read). `signal` aborts the moment the lease is known
 * lost (someone else holds it, or it ran out while renewals failed); every writer checks it.
 */
export interface LeaseKeeper {
  readonly signal: AbortSignal;
  /** Throws unless the lease is still held and not past its expiry: call before every write. */
  check(): void;
  /** Marks the lease lost (e.g. the run record was changed by someone else). */
  lose(reason: string): void;
  stop(): void;
}

export interface KeepLeaseInput {
  readonly leases: Pick<Leases, 'renewLease'>;
  readonly clock: Clock;
  readonly environmentId: string;
  readonly runId: string;
  readonly owner: string;
  /** When the lease taken by `startLease` expires. */
  readonly expiresAt: Date;
  readonly timing: LeaseTiming;
  readonly onRenewalFailed?: (error: unknown) => void;
}

function leaseLost(reason: string): AppError {
  return new AppError('conflict', `The sync lost its lease: ${reason}`);
}

export function keepLease(input: KeepLeaseInput): LeaseKeeper {
  const controller = new AbortController();
  let expiresAt = input.expiresAt;
  let renewing = false;

  const lose = (reason: string): void => {
    if (!controller.signal.aborted) controller.abort(leaseLost(reason));
    clearInterval(timer);
  };

  const renew = async (): Promise<void> => {
    if (renewing || controller.signal.aborted) return;
    renewing = true;
    try {
      const { leases, environmentId, runId, owner, clock, timing } = input;
      expiresAt = await leases.renewLease(environmentId, runId, owner, clock.now(), timing.durationMs);
    } catch (error) {
      if (isAppError(error, 'conflict')) lose('another worker holds it, or it expired');
      else input.onRenewalFailed?.(error);
    } finally {
      renewing = false;
    }
  };

  const timer = setInterval(() => void renew(), input.timing.renewEveryMs);
  // A lease being kept must not keep a process alive that has nothing else to do.
  timer.unref();

  return {
    signal: controller.signal,
    check() {
      if (!controller.signal.aborted && input.clock.now().getTime() >= expiresAt.getTime()) {
        lose('it expired while it could not be renewed');
      }
      controller.signal.throwIfAborted();
    },
    lose,
    stop() {
      clearInterval(timer);
    },
  };
}
