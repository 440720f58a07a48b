import { randomBytes } from 'node:crypto';
import { odata, type TableEntity } from '@azure/data-tables';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { StorageAccount } from '../storage/account.js';

/**
 * The audit trail of configuration changes: who (the token's `sub`), when, what changed. Values of
 * secret fields are never recorded, only that they changed.
 */
export const AUDIT_TABLE = 'audit';

export type AuditTarget =
  { readonly kind: 'tenant'; readonly id: string } | { readonly kind: 'environment'; readonly id: string };

export type AuditAction =
  | 'tenant.created'
  | 'tenant.updated'
  | 'tenant.deleted'
  | 'environment.created'
  | 'environment.updated'
  | 'environment.settings-updated';

/** A field's value before and after; `secret: true` when only the fact of a change is kept. */
export type FieldChange =
  { readonly from: unknown; readonly to: unknown } | { readonly secret: true; readonly changed: true };

export interface AuditEntry {
  readonly at: string;
  readonly actor: string;
  readonly action: AuditAction;
  readonly target: AuditTarget;
  readonly changes: Readonly<Record<string, FieldChange>>;
}

interface AuditEntity extends TableEntity {
  at: string;
  actor: string;
  action: string;
  targetKind: string;
  targetId: string;
  changes: string;
}

/**
 * Pure: the fields whose values differ between two records (compared as JSON). `secretFields`
 * are reported as changed when listed in `changedSecrets`, never with a value.
 */
export function diffFields(
  before: Readonly<Record<string, unknown>> | undefined,
  after: Readonly<Record<string, unknown>> | undefined,
  ignore: readonly string[] = [],
): Record<string, FieldChange> {
  const changes: Record<string, FieldChange> = {};
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const key of keys) {
    if (ignore.includes(key)) continue;
    const from = before?.[key];
    const to = after?.[key];
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[key] = { from: from ?? null, to: to ?? null };
  }
  return changes;
}

function partitionOf(target: AuditTarget): string {
  return `${target.kind}-${target.id}`;
}

/** Newest first within a partition: row keys count down from the far future. */
function rowKeyFor(at: Date, random: Buffer): string {
  const inverted = (9_999_999_999_999 - at.getTime()).toString().padStart(13, '0');
  return `${inverted}-${random.toString('hex')}`;
}

export interface AuditTrail {
  record(entry: Omit<AuditEntry, 'at'>): Promise<AuditEntry>;
  /** The trail of one tenant or environment, newest first. */
  list(target: AuditTarget, limit?: number): Promise<AuditEntry[]>;
}

function fromAuditEntity(entity: AuditEntity, target: AuditTarget): AuditEntry {
  return {
    at: entity.at,
    actor: entity.actor,
    action: entity.action as AuditAction,
    target,
    changes: JSON.parse(entity.changes) as Record<string, FieldChange>,
  };
}

export function createAuditTrail(deps: { storage: StorageAccount; clock: Clock }): AuditTrail {
  return {
    async record(entry) {
      const at = deps.clock.now();
      const entity: AuditEntity = {
        partitionKey: partitionOf(entry.target),
        rowKey: rowKeyFor(at, randomBytes(6)),
        at: at.toISOString(),
        actor: entry.actor,
        action: entry.action,
        targetKind: entry.target.kind,
        targetId: entry.target.id,
        changes: JSON.stringify(entry.changes),
      };
      try {
        await (await deps.storage.table(AUDIT_TABLE)).createEntity(entity);
      } catch (error) {
        throw new AppError('storage-unavailable', 'The audit trail could not be written.', { cause: error });
      }
      return { ...entry, at: entity.at };
    },

    async list(target, limit = 100) {
      const client = await deps.storage.table(AUDIT_TABLE);
      const entries: AuditEntry[] = [];
      const entities = client.listEntities<AuditEntity>({
        queryOptions: { filter: odata`PartitionKey eq ${partitionOf(target)}` },
      });
      for await (const entity of entities) {
        entries.push(fromAuditEntity(entity, target));
        if (entries.length >= limit) break;
      }
      return entries;
    },
  };
}
