import type { Reply } from './http.js';
import type { Directory } from './model.js';
import type { FaultKind } from './types.js';

/** An injected failure for one request: the status to answer and its Retry-After. */
export interface InjectedFailure {
  readonly status: 429 | 500 | 503 | 504;
  readonly retryAfterSeconds: number | null;
}

/** Consumes the directory's throttle or failure fault for one request of `kind`, if one applies. */
export function takeFailure(directory: Directory, kind: FaultKind): InjectedFailure | undefined {
  const { throttle, fail } = directory.faults;
  if (throttle !== undefined && throttle.remaining > 0 && throttle.kinds.includes(kind)) {
    throttle.remaining -= 1;
    if (throttle.remaining === 0) directory.faults.throttle = undefined;
    return { status: 429, retryAfterSeconds: throttle.retryAfterSeconds };
  }
  if (fail !== undefined && fail.remaining > 0 && fail.kinds.includes(kind)) {
    fail.remaining -= 1;
    if (fail.remaining === 0) directory.faults.fail = undefined;
    return { status: fail.status, retryAfterSeconds: fail.retryAfterSeconds };
  }
  return undefined;
}

/** Consumes the directory's slow fault for one request of `kind`: how its answer is held back. */
export function takeSlow(
  directory: Directory,
  kind: FaultKind,
): { readonly delayMs: number; readonly stall: 'headers' | 'body' } | undefined {
  const slow = directory.faults.slow;
  if (slow === undefined || !slow.kinds.includes(kind)) return undefined;
  if (slow.remaining !== undefined) {
    slow.remaining -= 1;
    if (slow.remaining <= 0) directory.faults.slow = undefined;
  }
  return { delayMs: slow.delayMs, stall: slow.stall };
}

/** A wait that does not keep the process alive: a hang may outlive the test that asked for it. */
export function hold(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Holds the answer back as the slow fault says: before anything is sent, or mid-body. */
export async function slowedDown(
  directory: Directory | undefined,
  kind: FaultKind,
  answer: () => Promise<Reply> | Reply,
): Promise<Reply> {
  const slow = directory === undefined ? undefined : takeSlow(directory, kind);
  if (slow?.stall === 'headers') await hold(slow.delayMs);
  const reply = await answer();
  return slow?.stall === 'body' ? { ...reply, stallMs: slow.delayMs } : reply;
}
