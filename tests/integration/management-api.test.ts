import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../scripts/local-host/local-host.js';
import { apiClient } from '../support/api.js';
import {
  createTestDirectory,
  managementToken,
  waitForMail,
  mailMessages,
  type TestDirectory,
} from '../support/dev-directory.js';
import { startTestHost } from '../support/host.js';
import { uid } from '../support/ids.js';
import { testRepositories } from '../support/storage.js';
import { seedEnvironmentUser } from '../support/users.js';

/**
 * The management API as a client sees it: the real routes of the local host, tokens issued by
 * the dev directory and checked against its published JWKS over HTTPS, mail to the sink.
 */
let host: LocalHost;
let directory: TestDirectory;
const suffix = uid();
const ENV = `mgmt-int-${suffix}`;
const TENANT = `mgmt-int-${suffix}`;
const MAIL_FROM = 'BizzStream <no-reply@bizzstream.local>';

beforeAll(async () => {
  host = await startTestHost({
    settings: { MAIL_FROM },
    queues: { visibilityTimeoutMs: 0, maxPollingIntervalMs: 200 },
  });
  directory = await createTestDirectory();
});

afterAll(async () => {
  await host?.stop();
});

const api = apiClient(() => host);

describe('management API through the local host with dev-directory tokens', () => {
  it('walks operator → partner → environment admin', async () => {
    const operator = await managementToken('platform-operator');
    const partner = await managementToken({ sub: `partner-${suffix}`, roles: ['partner'] });
    const admin = await managementToken('environment-admin', [ENV]);

    const environment = await api('PUT', `environments/${ENV}`, {
      token: operator,
      body: { name: 'Integration', externalUsersIntegration: true },
    });
    expect(environment.status).toBe(201);

    const connection = directory.tenantConnection(TENANT, [ENV]);
    const tenant = await api('PUT', `tenants/${TENANT}`, {
      token: partner,
      body: {
        directoryId: connection.directoryId,
        clientId: connection.clientId,
        clientSecret: connection.clientSecret,
        environments: [ENV],
        authorityHost: connection.authorityHost,
        graphBaseUrl: connection.graphBaseUrl,
      },
    });
    expect(tenant.status).toBe(201);
    expect(tenant.body).toMatchObject({ owner: `partner-${suffix}`, hasClientSecret: true });
    expect(tenant.text).not.toContain(connection.clientSecret);
    expect((await testRepositories().tenants.getConnection(TENANT))?.clientSecret).toBe(
      connection.clientSecret,
    );

    const group = crypto.randomUUID();
    const settings = await api('PUT', `environments/${ENV}/external-users`, {
      token: admin,
      body: { tenant: TENANT, groupsToSync: ` ${group.toUpperCase()} ,` },
    });
    expect(settings.status).toBe(200);
    expect(settings.body).toMatchObject({ groupsToSync: group });
    const read = await api('GET', `environments/${ENV}/external-users`, { token: admin });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ tenant: TENANT, latestRun: null });

    expect((await api('DELETE', `tenants/${TENANT}`, { token: partner })).status).toBe(409);
    expect((await api('GET', `environments/${ENV}`, { token: partner })).status).toBe(403);
  });

  it('refuses expired, foreign and missing tokens with 401', async () => {
    const expired = await managementToken({ sub: 'x', roles: ['platform-operator'], expiresInSeconds: -600 });
    expect((await api('GET', 'tenants', { token: expired })).status).toBe(401);
    expect((await api('GET', 'tenants', { token: 'eyJhbGciOiJIUzI1NiJ9.e30.x' })).status).toBe(401);
    const none = await api('GET', 'tenants');
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers problem+json for unknown routes, wrong methods and malformed JSON', async () => {
    const unknown = await api('GET', 'nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/problem+json');
    const wrongMethod = await api('PATCH', `tenants/${TENANT}`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toContain('PUT');
    const operator = await managementToken('platform-operator');
    const malformed = await api('PUT', `environments/${ENV}`, { token: operator, raw: '{"name":' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ type: '/problems/validation' });
  });

  it('mails a password reset through the queue worker to the sink', async () => {
    const email = `reset-${suffix}@example.test`;
    await seedEnvironmentUser({
      environmentId: ENV,
      directoryId: directory.id,
      objectId: crypto.randomUUID(),
      displayName: 'Reset Me',
      email,
    });
    const response = await api('POST', 'password-reset', { body: { email, environment: ENV } });
    expect(response.status).toBe(202);
    const [mail] = await waitForMail(email, 1, 15_000);
    expect(mail?.subject).toContain('Integration');
    expect(mail?.text).toContain('Microsoft Entra ID (Azure AD)');
    const unknown = `nobody-${suffix}@example.test`;
    expect((await api('POST', 'password-reset', { body: { email: unknown, environment: ENV } })).status).toBe(
      202,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await mailMessages({ to: unknown })).toHaveLength(0);
  });
});
