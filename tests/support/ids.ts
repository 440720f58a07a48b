import { randomUUID } from 'node:crypto';

/** Ids for test data: unique per call, so files sharing a worker's storage account never collide. */

/** Eight lower-case letters and digits. */
export function uid(): string {
  return Math.random().toString(36).slice(2, 10).padEnd(8, '0');
}

/** `<prefix>-<uid>`, e.g. `env-k3j9x0qa`. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${uid()}`;
}

/** A GUID, as Entra ID names directories, applications and objects. */
export function guid(): string {
  return randomUUID();
}
