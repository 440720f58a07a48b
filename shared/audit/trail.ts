import { randomBytes } from 'node:crypto';
import { odata, type TableEntity } from '@azure/data-tables';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { StorageAccount } from '../storage/account.js';
import { fromSplitProperty, toSplitProperty } from '../storage/limits.js';

/**
 * The audit trail of configuration changes: who (the token's `sub`), when, what changed. Values of
 * secret fields are never recorded, only that they changed.
 *
 * The entry and the change live in different tables, so no transaction holds both. The entry is
 * written first, as `pending`, and the change only after it: a change is never applied without its
 * entry, and a failing audit write answers a failure before anything changed. Once the change is
 * applied the entry is marked `applied` (or `failed`); marking is best effort and never turns an
 * applied change into a failure answer, so an entry left `pending` means "compare with the current
 * state": the change may or may not have been applied.
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

export type AuditOutcome = 'pending' | 'applied' | 'failed';

/** Properties the changes may span; inputs are validated so that any change fits in these. */
const MAX_CHANGES_PARTS = 8;

export interface AuditEntry {
  readonly at: string;
  /** Absent on entries written before outcomes were recorded (they were written after the change). */
  readonly outcome?: AuditOutcome;
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
  outcome?: string;
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

/** An entry written as pending; `settle` records how the change ended (false if it could not). */
export interface PendingAuditEntry {
  readonly entry: AuditEntry;
  settle(outcome: 'applied' | 'failed'): Promise<boolean>;
}

export interface AuditTrail {
  /** Records a change already made (applied). */
  record(entry: Omit<AuditEntry, 'at' | 'outcome'>): Promise<AuditEntry>;
  /** Writes the entry as `pending`, before the change it describes is applied. */
  begin(entry: Omit<AuditEntry, 'at' | 'outcome'>): Promise<PendingAuditEntry>;
  /** Writes the entry, runs `apply`, and settles the entry by how `apply` ended. */
  around<T>(entry: Omit<AuditEntry, 'at' | 'outcome'>, apply: () => Promise<T>): Promise<T>;
  /** The trail of one tenant or environment, newest first. */
  list(target: AuditTarget, limit?: number): Promise<AuditEntry[]>;
}

function fromAuditEntity(entity: AuditEntity, target: AuditTarget): AuditEntry {
  return {
    at: entity.at,
    actor: entity.actor,
    action: entity.action as AuditAction,
    target,
    changes: JSON.parse(fromSplitProperty(entity, 'changes')) as Record<string, FieldChange>,
    ...(entity.outcome === undefined ? {} : { outcome: entity.outcome as AuditOutcome }),
  };
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createAuditTrail(deps: { storage: StorageAccount; clock: Clock }): AuditTrail {
  async function begin(entry: Omit<AuditEntry, 'at' | 'outcome'>): Promise<PendingAuditEntry> {
    const at = deps.clock.now();
    const changes = toSplitProperty('changes', JSON.stringify(entry.changes), MAX_CHANGES_PARTS);
    // Inputs are bounded so this cannot happen; if it did, nothing must change unrecorded.
    if (changes === undefined) throw new AppError('internal', 'The audit entry would be too large.');
    const entity: AuditEntity = {
      partitionKey: partitionOf(entry.target),
      rowKey: rowKeyFor(at, randomBytes(6)),
      at: at.toISOString(),
      actor: entry.actor,
      action: entry.action,
      targetKind: entry.target.kind,
      targetId: entry.target.id,
      changes: '',
      ...changes,
      outcome: 'pending',
    };
    const client = await deps.storage.table(AUDIT_TABLE);
    try {
      await client.createEntity(entity);
    } catch (error) {
      throw new AppError('storage-unavailable', 'The audit trail could not be written.', { cause: error });
    }
    return {
      entry: { ...entry, at: entity.at, outcome: 'pending' },
      async settle(outcome) {
        try {
          await client.updateEntity(
            { partitionKey: entity.partitionKey, rowKey: entity.rowKey, outcome },
            'Merge',
          );
          return true;
        } catch {
          // The entry stays pending, which says what readers must do: compare with the state.
          return false;
        }
      },
    };
  }

  return {
    begin,

    async around(entry, apply) {
      const pending = await begin(entry);
      let result;
      try {
        result = await apply();
      } catch (error) {
        await pending.settle('failed');
        throw error;
      }
      await pending.settle('applied');
      return result;
    },

    async record(entry) {
      const pending = await begin(entry);
      await pending.settle('applied');
      return { ...pending.entry, outcome: 'applied' };
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
