import type { TableClient, TableEntity } from '@azure/data-tables';
import { z } from 'zod';
import type { EnvironmentRecord } from '../environments/repository.js';
import type { Mailer } from '../mail/mailer.js';
import type { StorageAccount } from '../storage/account.js';
import { deleteEntityIfPresent } from '../storage/deletes.js';
import { getEntityOrNone } from '../storage/entities.js';
import { storageError } from '../storage/errors.js';
import type { StoredRun } from '../sync/runs.js';
import { runFailureMail, type RunTrouble } from './message.js';

/**
 * Failure mails of sync runs. A run that fails or halts queues one mail per notification address;
 * the queue function sends them, so an SMTP outage is retried from the queue and never fails the
 * run. Table `syncnotices` (PartitionKey = `environment`, RowKey = environment id) remembers what
 * was last mailed, so a failure streak mails once per problem until a run succeeds.
 */
export const NOTIFICATION_MAIL_QUEUE = 'notification-mail';
export const NOTICES_TABLE = 'syncnotices';
const PARTITION = 'environment';

const mailMessageSchema = z.object({
  to: z.string().min(1),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
});

export type NotificationOutcome = 'queued' | 'repeat' | 'cleared' | 'none';

export interface RunNotifications {
  /** After a run ended (dry runs never notify). */
  afterRun(run: StoredRun): Promise<NotificationOutcome>;
  /** The queue function: sends one queued mail; a failure throws, so the queue retries it. */
  deliver(
    payload: unknown,
    log: { warn(message: string, data?: Record<string, unknown>): void },
  ): Promise<void>;
}

export interface NotificationDeps {
  readonly storage: Pick<StorageAccount, 'table' | 'queue'>;
  readonly environments: { get(id: string): Promise<EnvironmentRecord | undefined> };
  readonly mailer: Mailer;
  readonly publicBaseUrl: string;
}

interface NoticeEntity extends TableEntity {
  /** `failed:<code>` or `halted`: the problem last mailed about. */
  notified: string;
  runId: string;
}

function troubleOf(run: StoredRun, limit: number | undefined): RunTrouble | undefined {
  if (run.status === 'failed') {
    return { kind: 'failed', code: run.error?.code ?? 'internal', message: run.error?.message ?? '' };
  }
  if (run.status === 'halted') {
    const deactivations = run.heldBack ?? run.counts.deactivated;
    return { kind: 'halted', deactivations, alreadyApplied: run.counts.deactivated - deactivations, limit };
  }
  return undefined;
}

function noticeKey(trouble: RunTrouble): string {
  return trouble.kind === 'failed' ? `failed:${trouble.code}` : 'halted';
}

/** The console's page of a run. */
export function runConsoleUrl(publicBaseUrl: string, environmentId: string, runId: string): string {
  return `${publicBaseUrl}/console/environments/${encodeURIComponent(environmentId)}/runs/${encodeURIComponent(runId)}`;
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createRunNotifications(deps: NotificationDeps): RunNotifications {
  const table = (): Promise<TableClient> => deps.storage.table(NOTICES_TABLE);

  async function lastNotice(environmentId: string): Promise<string | undefined> {
    const client = await table();
    const notice = await getEntityOrNone<NoticeEntity>(
      client,
      PARTITION,
      environmentId,
      'Sync notices could not be read.',
    );
    return notice?.notified;
  }

  async function clear(environmentId: string): Promise<void> {
    await deleteEntityIfPresent(
      await table(),
      PARTITION,
      environmentId,
      'Sync notices could not be cleared.',
    );
  }

  async function remember(run: StoredRun, key: string): Promise<void> {
    const client = await table();
    try {
      await client.upsertEntity<NoticeEntity>(
        { partitionKey: PARTITION, rowKey: run.environment, notified: key, runId: run.runId },
        'Replace',
      );
    } catch (error) {
      throw storageError('Sync notices could not be stored.', error);
    }
  }

  async function queueMails(
    run: StoredRun,
    environment: EnvironmentRecord,
    trouble: RunTrouble,
  ): Promise<void> {
    const queue = await deps.storage.queue(NOTIFICATION_MAIL_QUEUE);
    const runUrl = runConsoleUrl(deps.publicBaseUrl, run.environment, run.runId);
    for (const to of environment.externalUsers?.notificationEmails ?? []) {
      const mail = runFailureMail({
        to,
        environmentId: environment.id,
        environmentName: environment.name,
        runId: run.runId,
        trigger: run.trigger,
        finishedAt: run.finishedAt ?? '',
        trouble,
        runUrl,
      });
      try {
        // Base64, as the Functions queue trigger expects by default.
        await queue.sendMessage(Buffer.from(JSON.stringify(mail), 'utf8').toString('base64'));
      } catch (error) {
        throw storageError('The notification mail could not be queued.', error);
      }
    }
  }

  return {
    async afterRun(run) {
      if (run.dryRun === true) return 'none';
      const previous = await lastNotice(run.environment);
      if (run.status === 'succeeded') {
        if (previous === undefined) return 'none';
        await clear(run.environment);
        return 'cleared';
      }
      const environment = await deps.environments.get(run.environment);
      const trouble = troubleOf(run, environment?.externalUsers?.deactivationLimit);
      if (!trouble || !environment) return 'none';
      const key = noticeKey(trouble);
      if (previous === key) return 'repeat';
      // Queued before remembered: a crash between the two mails again rather than never.
      await queueMails(run, environment, trouble);
      await remember(run, key);
      return 'queued';
    },

    async deliver(payload, log) {
      const mail = mailMessageSchema.safeParse(payload);
      if (!mail.success) {
        // A malformed message can never succeed; retrying it would only delay the poison queue.
        log.warn('notification mail: malformed queue message dropped');
        return;
      }
      await deps.mailer.send(mail.data);
    },
  };
}
