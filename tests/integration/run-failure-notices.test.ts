import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../shared/app/services.js';
import { NOTIFICATION_MAIL_QUEUE } from '../../shared/notifications/service.js';
import { QUEUED_LEASE_MS } from '../../shared/sync/lease.js';
import { createTenantHealth } from '../../shared/tenants/health.js';
import {
  createTestDirectory,
  devDirectorySettings,
  mailMessages,
  waitForMail,
} from '../support/dev-directory.js';
import type { TestDirectory } from '../support/dev-directory.js';
import { drainQueue } from '../support/queues.js';
import { testClock, testRepositories, testServices, useTestEnvironment } from '../support/storage.js';
import { queuedRun, setupSyncEnvironment } from './sync-support.js';

/**
 * Runs that end without their worker finishing them (the poison queue gave up on their message,
 * or their lease expired and a reader or a new request settles them) are followed up like any
 * other: their failure is mailed once per failure streak, and the tenant's health is judged by
 * the same rule. Real services over Azurite, the dev directory and the mail sink.
 */
let services: Services;
let directory: TestDirectory;
const suffix = randomUUID().slice(0, 8);

beforeAll(async () => {
  // Mail goes to this run's mail sink.
  useTestEnvironment(devDirectorySettings());
  services = testServices();
  directory = await createTestDirectory({ displayName: 'Run failure notices' });
});

afterEach(() => {
  testClock.use(undefined);
});

/** An environment syncing one group, whose failures are mailed to `contact`; its tenant's name too. */
async function environmentMailing(contact: string): Promise<{ environmentId: string; tenant: string }> {
  const member = await directory.addUser({ displayName: `Member ${contact}` });
  const group = await directory.addGroup(`Group ${contact}`, [member.id]);
  const tenant = `notices-${randomUUID().slice(0, 8)}`;
  const environmentId = await setupSyncEnvironment({ directory, groups: [group.id], tenantName: tenant });
  await testRepositories().environments.saveSettings(environmentId, {
    tenant,
    groupsToSync: [group.id.toLowerCase()],
    defaultMenus: ['Home'],
    periodicSync: false,
    deactivationLimit: 50,
    notificationEmails: [contact],
  });
  return { environmentId, tenant };
}

/** A run executed to its end by the worker, as the host runs a message. */
async function runToEnd(environmentId: string): Promise<string> {
  const { runId, message } = await queuedRun(services.sync, environmentId);
  await services.sync.executeSyncRun(message);
  return runId;
}

/** What the notification mailer function does: sends each queued mail (any left by others too). */
async function sendQueuedMails(): Promise<void> {
  await drainQueue(NOTIFICATION_MAIL_QUEUE, (payload) =>
    services.notifications.deliver(payload, { warn: () => undefined }),
  );
}

async function tenantState(tenant: string): Promise<string> {
  return (await createTenantHealth(services.storage).get(tenant)).state;
}

/** Lets the mail sink store what it was sent, then counts what reached `to`. */
async function mailCount(to: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 500));
  return (await mailMessages({ to })).length;
}

describe('runs failed outside their worker are followed up like any other', () => {
  it('a poisoned run mails its contacts once per failure streak, and again after a success', async () => {
    const contact = `poison.${suffix}@partner.example`;
    const { environmentId, tenant } = await environmentMailing(contact);
    const good = await runToEnd(environmentId);
    expect(await services.sync.getSyncRun(environmentId, good)).toMatchObject({ status: 'succeeded' });
    expect(await tenantState(tenant)).toBe('ok');

    const poisoned = await queuedRun(services.sync, environmentId);
    await services.sync.failPoisonedRun(poisoned.message);
    expect(await services.sync.getSyncRun(environmentId, poisoned.runId)).toMatchObject({
      status: 'failed',
      error: { code: 'internal' },
    });
    await sendQueuedMails();
    const [mail] = await waitForMail(contact, 1);
    expect(mail?.subject).toContain('failed (internal)');
    expect(mail?.text).toContain('abandoned');
    expect(mail?.text).toContain(`/console/environments/${environmentId}/runs/${poisoned.runId}`);
    // Not a directory error: it says nothing about the tenant's connection.
    expect(await tenantState(tenant)).toBe('ok');

    // The same problem again: no second mail.
    const again = await queuedRun(services.sync, environmentId);
    await services.sync.failPoisonedRun(again.message);
    await sendQueuedMails();
    expect(await mailCount(contact)).toBe(1);

    // A success ends the streak; the next poisoned run mails again.
    await runToEnd(environmentId);
    const third = await queuedRun(services.sync, environmentId);
    await services.sync.failPoisonedRun(third.message);
    await sendQueuedMails();
    expect(await waitForMail(contact, 2)).toHaveLength(2);
  });

  it('a run whose lease expired is mailed once when a reader settles it, however often it is read', async () => {
    const contact = `expired-read.${suffix}@partner.example`;
    const { environmentId, tenant } = await environmentMailing(contact);
    await runToEnd(environmentId);
    // Its message is taken and never run: the worker died before it began.
    const dead = await queuedRun(services.sync, environmentId);
    expect(await services.sync.getSyncRun(environmentId, dead.runId)).toMatchObject({ status: 'queued' });
    await sendQueuedMails();
    expect(await mailCount(contact)).toBe(0);

    const later = new Date(Date.now() + QUEUED_LEASE_MS + 1000);
    testClock.use({ now: () => later });
    expect(await services.sync.getSyncRun(environmentId, dead.runId)).toMatchObject({
      status: 'failed',
      error: { code: 'internal', message: expect.stringContaining('lease expired') as string },
    });
    expect((await services.sync.listSyncRuns(environmentId, 5))[0]).toMatchObject({ status: 'failed' });
    expect(await services.sync.getLatestRun(environmentId)).toMatchObject({ status: 'failed' });
    await sendQueuedMails();
    const [mail] = await waitForMail(contact, 1);
    expect(mail?.text).toContain('lease expired');
    expect(mail?.text).toContain(`/console/environments/${environmentId}/runs/${dead.runId}`);
    expect(await mailCount(contact)).toBe(1);
    expect(await tenantState(tenant)).toBe('ok');
  });

  it('a run whose lease expired is mailed when a new request finds it, and the new run ends the streak', async () => {
    const contact = `expired-request.${suffix}@partner.example`;
    const { environmentId } = await environmentMailing(contact);
    const dead = await queuedRun(services.sync, environmentId);

    const later = new Date(Date.now() + QUEUED_LEASE_MS + 1000);
    testClock.use({ now: () => later });
    const next = await queuedRun(services.sync, environmentId);
    const stored = await testServices().storage.table('syncruns');
    const settled = await stored.getEntity<{ status: string }>(environmentId, dead.runId);
    expect(settled.status).toBe('failed');
    await sendQueuedMails();
    const [mail] = await waitForMail(contact, 1);
    expect(mail?.text).toContain(`/console/environments/${environmentId}/runs/${dead.runId}`);

    await services.sync.executeSyncRun(next.message);
    expect(await services.sync.getSyncRun(environmentId, next.runId)).toMatchObject({ status: 'succeeded' });
    const notices = await testServices().storage.table('syncnotices');
    await expect(notices.getEntity('environment', environmentId)).rejects.toMatchObject({ statusCode: 404 });
  });
});
