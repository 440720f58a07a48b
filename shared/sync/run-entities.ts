import type { TableEntity } from '@azure/data-tables';
import { ZERO_COUNTS, type RunCounts, type RunPreview, type RunStatus, type StoredRun } from './run-model.js';

export interface RunEntity extends TableEntity {
  trigger: string;
  requestedBy: string;
  status: string;
  queuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  counts: string;
  errorCode?: string;
  errorMessage?: string;
  haltReason?: string;
  confirmDeactivations: boolean;
  changePages?: number;
  dryRun?: boolean;
  wouldHalt?: boolean;
  /** JSON of the RunPreview. */
  preview?: string;
  tenant?: string;
  heldBack?: number;
}

function parseCounts(value: unknown): RunCounts {
  const counts = { ...ZERO_COUNTS };
  if (typeof value !== 'string' || value === '') return counts;
  const parsed = JSON.parse(value) as Partial<Record<keyof RunCounts, unknown>>;
  for (const key of Object.keys(counts) as (keyof RunCounts)[]) {
    const n = parsed[key];
    if (typeof n === 'number') counts[key] = n;
  }
  return counts;
}

function parsePreview(value: unknown): RunPreview | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const parsed = JSON.parse(value) as { tenant?: unknown; groupsToSync?: unknown };
  return {
    ...(typeof parsed.tenant === 'string' ? { tenant: parsed.tenant } : {}),
    ...(Array.isArray(parsed.groupsToSync)
      ? { groupsToSync: parsed.groupsToSync.filter((id): id is string => typeof id === 'string') }
      : {}),
  };
}

export function fromRunEntity(entity: RunEntity & { etag?: unknown }): StoredRun {
  const preview = parsePreview(entity.preview);
  return {
    runId: entity.rowKey,
    environment: entity.partitionKey,
    trigger: entity.trigger === 'periodic' ? 'periodic' : 'manual',
    requestedBy: entity.requestedBy,
    status: entity.status as RunStatus,
    queuedAt: entity.queuedAt,
    ...(entity.startedAt ? { startedAt: entity.startedAt } : {}),
    ...(entity.finishedAt ? { finishedAt: entity.finishedAt } : {}),
    counts: parseCounts(entity.counts),
    ...(entity.errorCode ? { error: { code: entity.errorCode, message: entity.errorMessage ?? '' } } : {}),
    ...(entity.haltReason === 'deactivation-limit' ? { haltReason: 'deactivation-limit' as const } : {}),
    ...(entity.dryRun === true ? { dryRun: true as const, wouldHalt: entity.wouldHalt === true } : {}),
    confirmDeactivations: entity.confirmDeactivations === true,
    changePages: typeof entity.changePages === 'number' ? entity.changePages : 0,
    ...(preview ? { preview } : {}),
    ...(entity.tenant ? { tenant: entity.tenant } : {}),
    ...(typeof entity.heldBack === 'number' ? { heldBack: entity.heldBack } : {}),
    ...(typeof entity.etag === 'string' ? { etag: entity.etag } : {}),
  };
}

export function toRunEntity(run: StoredRun): RunEntity {
  return {
    partitionKey: run.environment,
    rowKey: run.runId,
    trigger: run.trigger,
    requestedBy: run.requestedBy,
    status: run.status,
    queuedAt: run.queuedAt,
    startedAt: run.startedAt ?? '',
    finishedAt: run.finishedAt ?? '',
    counts: JSON.stringify(run.counts),
    errorCode: run.error?.code ?? '',
    errorMessage: run.error?.message ?? '',
    haltReason: run.haltReason ?? '',
    confirmDeactivations: run.confirmDeactivations,
    changePages: run.changePages,
    dryRun: run.dryRun === true,
    wouldHalt: run.wouldHalt === true,
    preview: run.preview ? JSON.stringify(run.preview) : '',
    tenant: run.tenant ?? '',
    // Runs are saved by replacing the row: a property left out is gone.
    ...(run.heldBack === undefined ? {} : { heldBack: run.heldBack }),
  };
}
