import type { Implementation } from './admin.js';
import type { Directory } from './model.js';
import { DirectoryAdminError, emptyFaults } from './records.js';
import { FAULT_KINDS, ID_TOKEN_DEFECTS, type FaultKind } from './types.js';

function count(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new DirectoryAdminError(400, `${name} must be a positive integer`);
  }
  return value;
}

function retryAfter(value: number | null | undefined): number | null {
  if (value === null) return null;
  const seconds = value ?? 1;
  if (typeof seconds !== 'number' || !(seconds >= 0))
    throw new DirectoryAdminError(400, 'retryAfterSeconds must be ≥ 0');
  return seconds;
}

function isFaultKind(value: unknown): value is FaultKind {
  return (FAULT_KINDS as readonly unknown[]).includes(value);
}

/** The endpoints a fault applies to (Graph unless named); JSON from the admin API is checked. */
function kinds(value: unknown): readonly FaultKind[] {
  if (value === undefined) return ['graph'];
  const list: unknown[] = Array.isArray(value) ? (value as unknown[]) : [];
  if (list.length === 0 || !list.every(isFaultKind)) {
    throw new DirectoryAdminError(400, `kinds must be a non-empty list of ${FAULT_KINDS.join(', ')}`);
  }
  return list.filter(isFaultKind);
}

/** The counted part of a throttle or failure: how many of the next requests, of which kinds. */
function counted(fault: { readonly requests: number; readonly kinds?: readonly FaultKind[] }): {
  remaining: number;
  kinds: readonly FaultKind[];
} {
  return { remaining: count(fault.requests, 'requests'), kinds: kinds(fault.kinds) };
}

type FaultMethods = Pick<
  Implementation,
  | 'throttle'
  | 'failRequests'
  | 'failGroup'
  | 'slowResponses'
  | 'spoilNextLinks'
  | 'capPageSize'
  | 'clearFaults'
  | 'setIdTokenDefect'
>;

/**
 * The admin methods that inject faults into a directory's answers. Long only as a list: each
 * method is a few lines of its own.
 */
export function faultMethods(directory: (id: string) => Directory): FaultMethods {
  return {
    throttle(id, fault) {
      directory(id).faults.throttle = {
        ...counted(fault),
        retryAfterSeconds: retryAfter(fault.retryAfterSeconds),
      };
    },
    failRequests(id, fault) {
      if (![500, 503, 504].includes(fault.status))
        throw new DirectoryAdminError(400, 'status must be 500, 503 or 504');
      directory(id).faults.fail = {
        ...counted(fault),
        status: fault.status,
        retryAfterSeconds: fault.retryAfterSeconds === undefined ? null : retryAfter(fault.retryAfterSeconds),
      };
    },
    failGroup(id, groupId, status) {
      const d = directory(id);
      if (status === null) d.faults.failedGroups.delete(groupId.toLowerCase());
      else if (status === 403 || status === 404) d.faults.failedGroups.set(groupId.toLowerCase(), status);
      else throw new DirectoryAdminError(400, 'status must be 403, 404 or null');
    },
    slowResponses(id, fault) {
      const d = directory(id);
      if (fault === null) {
        d.faults.slow = undefined;
        return;
      }
      if (typeof fault.delayMs !== 'number' || fault.delayMs < 0)
        throw new DirectoryAdminError(400, 'delayMs must be ≥ 0');
      const stall = fault.stall ?? 'headers';
      if (stall !== 'headers' && stall !== 'body')
        throw new DirectoryAdminError(400, 'stall must be headers or body');
      d.faults.slow = {
        delayMs: fault.delayMs,
        remaining: fault.requests === undefined ? undefined : count(fault.requests, 'requests'),
        kinds: kinds(fault.kinds),
        stall,
      };
    },
    spoilNextLinks(id, fault) {
      const d = directory(id);
      if (fault === null) {
        d.faults.nextLink = undefined;
        return;
      }
      if (fault.kind === 'repeat') {
        d.faults.nextLink = { kind: 'repeat' };
        return;
      }
      if (
        fault.kind !== 'foreign-origin' ||
        typeof fault.origin !== 'string' ||
        !URL.canParse(fault.origin)
      ) {
        throw new DirectoryAdminError(
          400,
          "fault must be { kind: 'repeat' } or { kind: 'foreign-origin', origin }",
        );
      }
      d.faults.nextLink = { kind: 'foreign-origin', origin: new URL(fault.origin).origin };
    },
    capPageSize(id, size) {
      directory(id).faults.pageCap = size === null ? undefined : count(size, 'size');
    },
    clearFaults(id) {
      const d = directory(id);
      d.faults = emptyFaults();
    },
    setIdTokenDefect(id, defect) {
      if (defect !== null && !ID_TOKEN_DEFECTS.includes(defect)) {
        throw new DirectoryAdminError(400, `defect must be one of ${ID_TOKEN_DEFECTS.join(', ')}`);
      }
      directory(id).nextIdTokenDefect = defect ?? undefined;
    },
  };
}
