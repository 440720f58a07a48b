/**
 * The shell's source of time, passed to every service (see shared/app/services.ts). The functional
 * core never calls it: it takes `now` as an argument.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
