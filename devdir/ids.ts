import { randomBytes, randomUUID } from 'node:crypto';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

export function newGuid(): string {
  return randomUUID();
}

/** A block id for generated users: the first 20 hex digits of every id in the block. */
export function newGeneratedBlock(): string {
  const hex = randomBytes(10).toString('hex').split('');
  hex[12] = '4';
  hex[16] = '8';
  return hex.join('');
}

/** The object id of generated user `index` (0-based) of a block: ids are computed, never stored. */
export function generatedUserId(block: string, index: number): string {
  const tail = index.toString(16).padStart(12, '0');
  return `${block.slice(0, 8)}-${block.slice(8, 12)}-${block.slice(12, 16)}-${block.slice(16, 20)}-${tail}`;
}

/** Inverse of generatedUserId: the block and index an id would have. */
export function parseGeneratedUserId(id: string): { block: string; index: number } | undefined {
  if (!isGuid(id)) return undefined;
  const lower = id.toLowerCase();
  const block = lower.slice(0, 8) + lower.slice(9, 13) + lower.slice(14, 18) + lower.slice(19, 23);
  return { block, index: Number.parseInt(lower.slice(24), 16) };
}

export function randomSecret(): string {
  // Entra client secrets are 40 characters with a `~` somewhere; shape matters little, entropy does.
  return `dev~${randomBytes(27).toString('base64url')}`;
}
