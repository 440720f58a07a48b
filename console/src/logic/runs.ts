export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'halted';

export interface RunCounts {
  readonly added: number;
  readonly granted: number;
  readonly updated: number;
  readonly deactivated: number;
  readonly reactivated: number;
  readonly unchanged: number;
}

export interface SyncRun {
  readonly runId: string;
  readonly environment: string;
  readonly trigger: 'manual' | 'periodic';
  readonly requestedBy: string;
  readonly status: RunStatus;
  readonly queuedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly counts?: Partial<RunCounts>;
  readonly error?: { readonly code: string; readonly message: string };
  readonly haltReason?: string;
  readonly dryRun?: boolean;
  readonly wouldHalt?: boolean;
}

export interface RunChange {
  readonly userId: string;
  readonly objectId: string;
  readonly displayName: string;
  readonly action: 'added' | 'granted' | 'updated' | 'deactivated' | 'reactivated';
  readonly reason?: string;
  readonly fields?: readonly string[];
}

export function isFinished(status: RunStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'halted';
}

const COUNT_ORDER: readonly (keyof RunCounts)[] = [
  'added',
  'granted',
  'updated',
  'reactivated',
  'deactivated',
  'unchanged',
];

/** "2 added, 1 deactivated" — only the non-zero counts; "no changes" when there are none. */
export function countsSummary(counts: Partial<RunCounts> | undefined): string {
  const parts = COUNT_ORDER.filter((key) => key !== 'unchanged' && (counts?.[key] ?? 0) > 0).map(
    (key) => `${counts?.[key] ?? 0} ${key}`,
  );
  const unchanged = counts?.unchanged ?? 0;
  if (parts.length === 0) return unchanged > 0 ? `no changes (${unchanged} unchanged)` : 'no changes';
  return unchanged > 0 ? `${parts.join(', ')} (${unchanged} unchanged)` : parts.join(', ');
}

export const STATUS_LABELS: Readonly<Record<RunStatus, string>> = {
  queued: 'Queued',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  halted: 'Halted',
};

const REASONS: Readonly<Record<string, string>> = {
  'removed-from-group': 'Removed from the synced groups',
  'group-removed': 'Group no longer synced',
  'account-disabled': 'Account disabled in the directory',
};

/** The reason of a change in words, or what changed for an update. */
export function changeReason(change: Pick<RunChange, 'action' | 'reason' | 'fields'>): string {
  if (change.reason !== undefined) return REASONS[change.reason] ?? change.reason;
  if (change.action === 'updated' && change.fields !== undefined && change.fields.length > 0) {
    return `Changed in the directory: ${change.fields.join(', ')}`;
  }
  switch (change.action) {
    case 'added':
      return 'New member of a synced group';
    case 'granted':
      return 'Member of a synced group; access to this environment granted';
    case 'reactivated':
      return 'Member again of a synced group';
    case 'updated':
      return 'Changed in the directory';
    case 'deactivated':
      return 'No longer a member';
  }
}

/** One line on a run, for the live status and the latest run. */
export function runSummary(run: SyncRun): string {
  const label = STATUS_LABELS[run.status];
  if (run.status === 'queued' || run.status === 'running') return `${label}…`;
  if (run.status === 'failed') return `${label}: ${run.error?.message ?? run.error?.code ?? 'unknown error'}`;
  if (run.status === 'halted') {
    return `${label}: it would deactivate ${run.counts?.deactivated ?? 0} users, more than the deactivation limit. Nothing was applied.`;
  }
  const summary = countsSummary(run.counts);
  return run.wouldHalt === true
    ? `${label}: ${summary} (a real run would halt at the deactivation limit)`
    : `${label}: ${summary}`;
}

export function formatDateTime(iso: string | undefined, locale?: string): string {
  if (iso === undefined) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}
