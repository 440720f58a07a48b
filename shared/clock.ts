/**
 * The shell's source of time, passed to every service (see shared/app/services.ts). The functional
 * core never calls it: it takes `now` as an argument.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** The time of the sync and users modules, which do not take a Clock as an argument yet. */
let current: Clock = systemClock;

export function clock(): Clock {
  return current;
}

export function setClock(next: Clock | undefined): void {
  current = next ?? systemClock;
}
