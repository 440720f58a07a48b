import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bindHandler, listRegistrations } from '../../shared/host/registry.js';
import { PASSWORD_RESET_QUEUE } from '../../shared/password-reset/service.js';
import { mailMessages, mailSinkUrl } from '../support/dev-directory.js';
import { useTestEnvironment, testRepositories, testClock, testServices } from '../support/storage.js';
import { drainQueue } from '../support/queues.js';
import { seedEnvironmentUser } from '../support/users.js';
import { call, newContext } from './handler-support.js';
import { guid, uniqueId } from '../support/ids.js';
import { accessPartitionOf } from '../../shared/users/entities.js';
import { createUsersRepository, userIdOf, type AccessPatch } from '../../shared/users/repository.js';

const MAIL_FROM = 'BizzStream Test <no-reply@bizzstream.test>';

beforeAll(async () => {
  await import('../../functions/passwordReset.js');
});

beforeEach(async () => {
  useTestEnvironment({ SMTP_URL: mailSinkUrl(), MAIL_FROM });
  // This worker's storage account outlives the file: an earlier file may have left requests queued.
  await (await testServices().storage.queue(PASSWORD_RESET_QUEUE)).clearMessages();
});

afterEach(() => {
  testClock.use(undefined);
});

/** Runs the queue worker over every queued password reset request, as the host would. */
async function drainResetQueue(): Promise<number> {
  const registration = listRegistrations().find((r) => r.name === 'passwordResetMailer');
  if (registration?.kind !== 'storageQueue') throw new Error('passwordResetMailer is not registered');
  const handler = bindHandler(registration, testServices());
  return drainQueue(PASSWORD_RESET_QUEUE, async (message) => {
    await handler(message, newContext());
  });
}

async function requestReset(body: unknown) {
  return call('passwordReset', { method: 'POST', path: 'password-reset', body });
}

async function environmentWithUser(options: { active?: boolean } = {}) {
  const environmentId = uniqueId('pr');
  await testRepositories().environments.save({
    id: environmentId,
    name: `Acme ${environmentId}`,
    externalUsersIntegration: true,
  });
  const email = `${uniqueId('Ann')}@Example.test`;
  await seedEnvironmentUser({
    environmentId,
    directoryId: guid(),
    objectId: guid(),
    displayName: 'Ann Example',
    email,
    ...(options.active === undefined ? {} : { active: options.active }),
  });
  return { environmentId, email };
}

describe('POST /api/password-reset', () => {
  it('mails an external user with active access once: text and HTML, no link, from MAIL_FROM', async () => {
    const { environmentId, email } = await environmentWithUser();
    const response = await requestReset({ email: email.toUpperCase(), environment: environmentId });
    expect(response.status).toBe(202);
    expect(await drainResetQueue()).toBe(1);
    const mails = await mailMessages({ to: email });
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.from).toContain('no-reply@bizzstream.test');
    expect(mail.to.map((a) => a.toLowerCase())).toEqual([email.toLowerCase()]);
    for (const body of [mail.text, mail.html ?? '']) {
      expect(body).toContain('Microsoft Entra ID (Azure AD)');
      expect(body).toMatch(/password is changed there/i);
      expect(body).not.toMatch(/https?:\/\/|href=|token/i);
    }
    expect(mail.html).toBeDefined();
    expect(mail.text).toContain(`Acme ${environmentId}`);
  });

  it('answers the same 202 and sends nothing for unknown, deactivated or foreign addresses', async () => {
    const active = await environmentWithUser();
    const inactive = await environmentWithUser({ active: false });
    const other = await environmentWithUser();
    const unknownEmail = `${uniqueId('nobody')}@example.test`;
    const responses = [
      await requestReset({ email: active.email, environment: active.environmentId }),
      await requestReset({ email: unknownEmail, environment: active.environmentId }),
      await requestReset({ email: inactive.email, environment: inactive.environmentId }),
      await requestReset({ email: other.email, environment: active.environmentId }),
      await requestReset({ email: active.email, environment: 'no-such-environment' }),
    ];
    for (const response of responses) {
      expect(response.status).toBe(202);
      expect(response.text).toBe(responses[0]!.text);
      expect(response.headers).toEqual(responses[0]!.headers);
    }
    expect(await drainResetQueue()).toBe(5);
    expect(await mailMessages({ to: active.email })).toHaveLength(1);
    expect(await mailMessages({ to: unknownEmail })).toHaveLength(0);
    expect(await mailMessages({ to: inactive.email })).toHaveLength(0);
    expect(await mailMessages({ to: other.email })).toHaveLength(0);
  });

  it('finds the user with active access among the 250 who have or had the address', async () => {
    const environmentId = uniqueId('many');
    await testRepositories().environments.save({
      id: environmentId,
      name: `Many ${environmentId}`,
      externalUsersIntegration: true,
    });
    const email = `${uniqueId('shared')}@example.test`;
    const directoryId = guid();
    // The index lists an address's users by id: the active one sorts last, past two full pages.
    const patches: AccessPatch[] = Array.from({ length: 250 }, () => guid())
      .map((objectId) => ({ objectId, userId: userIdOf(directoryId, objectId) }))
      .sort((a, b) => (a.userId < b.userId ? -1 : 1))
      .map(({ objectId, userId }, i, all) => {
        const active = i === all.length - 1;
        return {
          userId,
          directoryId,
          objectId,
          displayName: `Sharer ${i}`,
          email,
          active,
          groups: [],
          menus: [],
          ...(active
            ? {}
            : { deactivatedAt: new Date().toISOString(), deactivationReason: 'removed-from-group' as const }),
        };
      });
    const users = createUsersRepository(testServices().storage);
    const byPartition = new Map<string, AccessPatch[]>();
    for (const patch of patches) {
      const partition = accessPartitionOf(environmentId, patch.userId);
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), patch]);
    }
    for (const group of byPartition.values()) await users.writeAccessBatch(environmentId, group);

    expect((await users.findActiveUsersByEmail(environmentId, email)).map((user) => user.id)).toEqual([
      patches.at(-1)!.userId,
    ]);
    expect((await requestReset({ email, environment: environmentId })).status).toBe(202);
    expect(await drainResetQueue()).toBe(1);
    expect(await mailMessages({ to: email })).toHaveLength(1);
  });

  it('sends at most 5 mails per address per hour', async () => {
    const { environmentId, email } = await environmentWithUser();
    const start = new Date();
    testClock.use({ now: () => start });
    for (let i = 0; i < 7; i++) {
      expect((await requestReset({ email, environment: environmentId })).status).toBe(202);
    }
    await drainResetQueue();
    expect(await mailMessages({ to: email })).toHaveLength(5);

    const later = new Date(start.getTime() + 61 * 60 * 1000);
    testClock.use({ now: () => later });
    await requestReset({ email, environment: environmentId });
    await drainResetQueue();
    expect(await mailMessages({ to: email })).toHaveLength(6);
  });

  it.each<[string, string | undefined, string]>([
    ['no body', undefined, ''],
    ['malformed JSON', 'application/json', '{"email":'],
    ['an array', 'application/json', '[]'],
    ['no email', 'application/json', JSON.stringify({ environment: 'x' })],
    ['no environment', 'application/json', JSON.stringify({ email: 'a@b.c' })],
    ['not an address', 'application/json', JSON.stringify({ email: 'nope', environment: 'x' })],
    ['text that is not JSON', 'text/plain', 'email=a@b.c&environment=x'],
  ])('answers 4xx problem+json for %s', async (_label, contentType, rawBody) => {
    const response = await call('passwordReset', {
      method: 'POST',
      path: 'password-reset',
      rawBody,
      headers: contentType === undefined ? {} : { 'content-type': contentType },
    });
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toBe('application/problem+json');
  });

  it('takes a body of the right shape whatever its content type (a plain form post sends text/plain)', async () => {
    const response = await call('passwordReset', {
      method: 'POST',
      path: 'password-reset',
      rawBody: JSON.stringify({ email: 'nobody@example.com', environment: 'x' }),
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
    });
    expect(response.status).toBe(202);
  });
});
