/**
 * The shell's source of time. The functional core never calls it: it takes `now` as an argument.
 * Tests (and the local host, for tests that run through it) may replace it.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

let current: Clock = systemClock;

export function clock(): Clock {
  return current;
}

export function setClock(next: Clock | undefined): void {
  current = next ?? systemClock;
}
