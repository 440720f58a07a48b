import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { afterEach, describe, expect, it } from 'vitest';
import { createMailLimiter } from '../../shared/password-reset/rate-limit.js';
import { createPasswordReset, PASSWORD_RESET_QUEUE } from '../../shared/password-reset/service.js';
import { createThrottle, THROTTLE_TABLE } from '../../shared/throttle/limiter.js';
import { drainQueue } from '../support/queues.js';
import { createEnvironmentsRepository } from '../../shared/environments/repository.js';
import { ACCESS_TABLE } from '../../shared/users/entities.js';
import { EMAIL_INDEX_TABLE } from '../../shared/users/email-index.js';
import { createUsersRepository, userIdOf, type AccessPatch } from '../../shared/users/repository.js';
import { ENVIRONMENTS_TABLE } from '../../shared/environments/repository.js';
import { MAIL_LIMIT_TABLE } from '../../shared/password-reset/rate-limit.js';
import type { OutgoingMail } from '../../shared/mail/mailer.js';
import { testClock, testRepositories, testServices } from '../support/storage.js';
import { guid, uniqueId as uniqueName } from '../support/ids.js';
import { useOwnThrottleWindow } from '../support/throttle.js';
import {
  call,
  callTenant,
  capturedLogs,
  newContext,
  putTenant,
  tenantBody,
  useHandlerTests,
} from './handler-support.js';

const { tokens, keys } = useHandlerTests(
  async () => {
    await import('../../functions/tenants.js');
    await import('../../functions/environments.js');
    await import('../../functions/externalUsers.js');
    await import('../../functions/passwordReset.js');
    await import('../../functions/auth.js');
  },
  {
    partnerA: { sub: 'race-a', roles: ['partner'] },
    partnerB: { sub: 'race-b', roles: ['partner'] },
    operator: { sub: 'op', roles: ['platform-operator'] },
  },
);

afterEach(() => {
  testClock.use(undefined);
});

describe('tenant directory hosts', () => {
  it.each([
    ['authorityHost', 'https://10.0.0.5'],
    ['authorityHost', 'https://192.168.1.1'],
    ['authorityHost', 'https://[::1]'],
    ['authorityHost', 'https://login.microsoftonline.com.evil.example'],
    ['authorityHost', 'https://login-microsoftonline.com'],
    ['authorityHost', 'https://login.microsoftonline.com/common'],
    ['authorityHost', 'https://login.microsoftonline.com:8443'],
    ['graphBaseUrl', 'https://169.254.169.254'],
    ['graphBaseUrl', 'https://graph.microsoft.com.attacker.test'],
    ['graphBaseUrl', 'https://graph.microsoft.com/v1.0'],
    ['graphBaseUrl', 'http://graph.microsoft.com'],
  ])('%s %s: 400 naming the field, nothing stored', async (field, value) => {
    const name = uniqueName('h');
    const answer = await putTenant(name, tenantBody({ [field]: value }), tokens.partnerA);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      type: '/problems/validation',
      errors: { [field]: expect.any(String) as unknown },
    });
    expect(await testRepositories().tenants.get(name)).toBeUndefined();
  });

  it("accepts Microsoft's hosts and the DIRECTORY_HOSTS ones", async () => {
    const answer = await putTenant(
      uniqueName('h'),
      tenantBody({
        authorityHost: 'https://login.microsoftonline.us',
        graphBaseUrl: 'https://graph.microsoft.us',
      }),
      tokens.partnerA,
    );
    expect(answer.status).toBe(201);
  });

  it('a stored tenant breaking the policy is reported as failing, not silently used', async () => {
    const name = uniqueName('stored');
    await testRepositories().tenants.save({
      name,
      owner: 'race-a',
      directoryId: guid(),
      clientId: guid(),
      clientSecret: 'x',
      environments: [],
      authorityHost: 'https://10.1.2.3',
    });
    const answer = await callTenant('tenantGet', name, tokens.partnerA);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      status: {
        state: 'failing',
        error: {
          code: 'directory-unreachable',
          message: expect.stringContaining('authorityHost') as unknown,
        },
      },
    });
  });
});

describe('tenant creation race', () => {
  it('two partners creating one name at once: one 201, one 409, never a takeover (20 rounds)', async () => {
    for (let round = 0; round < 20; round++) {
      const name = uniqueName('race');
      const [a, b] = await Promise.all([
        putTenant(name, tenantBody(), tokens.partnerA),
        putTenant(name, tenantBody(), tokens.partnerB),
      ]);
      const statuses = [a.status, b.status].sort();
      // The loser either lost the insert (409) or saw the winner's row first (403).
      expect(statuses[0]).toBe(201);
      expect([403, 409]).toContain(statuses[1]);
      const winner = a.status === 201 ? 'race-a' : 'race-b';
      expect((await testRepositories().tenants.get(name))?.owner).toBe(winner);
      if (statuses[1] === 409) {
        expect((a.status === 409 ? a : b).body).toMatchObject({ type: '/problems/conflict' });
      }
    }
  });
});

describe('limits before storage', () => {
  it('an environments list too large to store: 400 naming it, not 503', async () => {
    const environments = Array.from({ length: 900 }, (_, i) => `env-${i}-${'x'.repeat(40)}`);
    const answer = await putTenant(uniqueName('big'), tenantBody({ environments }), tokens.partnerA);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ errors: { environments: expect.any(String) as unknown } });
  });

  it('too many groups: 400 naming groupsToSync', async () => {
    const environmentId = uniqueName('lim');
    await testRepositories().environments.save({
      id: environmentId,
      name: 'L',
      externalUsersIntegration: true,
    });
    const groupsToSync = Array.from({ length: 600 }, () => guid()).join(',');
    const answer = await call('externalUsersPut', {
      method: 'PUT',
      path: `environments/${environmentId}/external-users`,
      params: { envId: environmentId },
      body: { tenant: 'nope', groupsToSync },
      token: tokens.operator,
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      errors: { groupsToSync: expect.stringContaining('at most') as unknown },
    });
  });
});

describe('validation messages', () => {
  it('an unknown tenant and one that does not allow the environment read the same', async () => {
    const environmentId = uniqueName('leak');
    await testRepositories().environments.save({
      id: environmentId,
      name: 'L',
      externalUsersIntegration: true,
    });
    const hidden = uniqueName('hidden');
    await putTenant(hidden, tenantBody({ environments: ['elsewhere'] }), tokens.partnerB);
    const admin = await keys().token({
      sub: 'adm',
      roles: ['environment-admin'],
      environments: [environmentId],
    });
    const messageFor = async (tenant: string) => {
      const answer = await call('externalUsersPut', {
        method: 'PUT',
        path: `environments/${environmentId}/external-users`,
        params: { envId: environmentId },
        body: { tenant, groupsToSync: guid() },
        token: admin,
      });
      expect(answer.status).toBe(400);
      return ((answer.body as { errors: Record<string, string> }).errors.tenant ?? '').replace(tenant, 'T');
    };
    expect(await messageFor(hidden)).toBe(await messageFor(uniqueName('hidden')));
  });
});

/** Password reset requests of `environment` waiting on the queue (shared by every file on this worker). */
async function queuedResets(environment: string): Promise<number> {
  let count = 0;
  await drainQueue(PASSWORD_RESET_QUEUE, (message) => {
    if ((message as { environment?: unknown }).environment === environment) count++;
    return Promise.resolve();
  });
  return count;
}

function requestReset(body: unknown, forwardedFor?: string) {
  return call('passwordReset', {
    method: 'POST',
    path: 'password-reset',
    body,
    ...(forwardedFor === undefined ? {} : { headers: { 'x-forwarded-for': forwardedFor } }),
  });
}

describe('password reset throttling: 202 always, no work past the limit', () => {
  it('per address: the 11th request in 10 minutes is answered alike, but not queued and logged without the address', async () => {
    useOwnThrottleWindow();
    const environment = uniqueName('thr');
    const email = `${uniqueName('t')}@example.test`;
    await queuedResets(environment);
    const logsBefore = capturedLogs.length;
    const answers = [];
    for (let i = 0; i < 11; i++) {
      answers.push(await requestReset({ email, environment }, `203.0.113.${i}`));
    }
    for (const answer of answers) {
      expect(answer.status).toBe(202);
      expect(answer.text).toBe(answers[0]!.text);
    }
    expect(await queuedResets(environment)).toBe(10);
    const logs = capturedLogs.slice(logsBefore);
    expect(logs.filter((line) => JSON.stringify(line.args).includes('request limit reached'))).toHaveLength(
      1,
    );
    expect(JSON.stringify(logs).toLowerCase()).not.toContain(email.toLowerCase());
  });

  it('per client address (the last X-Forwarded-For entry): the 61st request is answered 202, not queued', async () => {
    useOwnThrottleWindow();
    const environment = uniqueName('thc');
    const client = `198.51.100.${Math.floor(Math.random() * 250)}`;
    await queuedResets(environment);
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) {
      const answer = await requestReset(
        { email: `${uniqueName('c')}@example.test`, environment },
        // What the client claims comes first; the front end's entry is last.
        `10.9.9.${i}, ${client}:5123`,
      );
      statuses.push(answer.status);
    }
    expect(statuses).toEqual(Array<number>(61).fill(202));
    expect(await queuedResets(environment)).toBe(60);
  });
});

describe('environment ids that cannot exist', () => {
  const impossible = () => [`${uniqueName('dot')}.b`, 'a'.repeat(65), 'white space', ''];

  it('GET /api/auth/login: 404 unknown environment, without a read of the environment or its count', async () => {
    const counter = await countStorage([ENVIRONMENTS_TABLE, THROTTLE_TABLE]);
    const login = (environment: string) =>
      call('authLogin', {
        method: 'GET',
        path: `auth/login?environment=${encodeURIComponent(environment)}`,
        headers: { accept: 'application/json' },
      });
    const possible = await login(uniqueName('nowhere'));
    expect(possible.status).toBe(404);
    // The same counter sees the reads an id that could exist costs.
    expect(counter.reads()).toBeGreaterThan(0);
    counter.reset();
    for (const environment of impossible()) {
      const answer = await login(environment);
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual(possible.body);
    }
    expect(counter.reads()).toBe(0);
  });

  it('POST /api/password-reset: 202, counted only against its client, nothing read or queued', async () => {
    const counter = await countStorage([ENVIRONMENTS_TABLE]);
    const email = `${uniqueName('imp')}@example.test`;
    const nowhere = uniqueName('nowhere');
    const possible = await requestReset({ email, environment: nowhere }, '192.0.2.77');
    expect(possible.status).toBe(202);
    // An id that could exist is queued (the worker looks it up); an impossible one is not.
    expect(await queuedResets(nowhere)).toBe(1);
    const environments = impossible();
    for (const environment of environments) {
      const answer = await requestReset({ email, environment }, '192.0.2.77');
      expect(answer.status).toBe(202);
      expect(answer.text).toBe(possible.text);
    }
    expect(counter.reads()).toBe(0);
    for (const environment of environments) expect(await queuedResets(environment)).toBe(0);
  });

  it.each([
    ['missing', undefined],
    ['not a string', 42],
    ['absurdly long', 'a'.repeat(257)],
  ])('an environment %s is not of the shape: 400 for both', async (_label, environment) => {
    const reset = await requestReset({ email: 'someone@example.test', environment });
    expect(reset.status).toBe(400);
    expect(reset.body).toMatchObject({
      type: '/problems/validation',
      errors: { environment: expect.any(String) as unknown },
    });
    if (typeof environment === 'number') return;
    const query = environment === undefined ? '' : `?environment=${environment}`;
    const login = await call('authLogin', {
      method: 'GET',
      path: `auth/login${query}`,
      headers: { accept: 'application/json' },
    });
    expect(login.status).toBe(400);
  });
});

describe('sign-in throttling', () => {
  it('GET /api/auth/login per client address: 429 with Retry-After past the limit', async () => {
    useOwnThrottleWindow();
    const client = `192.0.2.${Math.floor(Math.random() * 250)}`;
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 121; i++) {
      last = await call('authLogin', {
        method: 'GET',
        path: `auth/login?environment=${uniqueName('nowhere')}`,
        headers: { 'x-forwarded-for': `${client}:4000`, accept: 'application/json' },
      });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 120).every((s) => s !== 429)).toBe(true);
    expect(last?.status).toBe(429);
    expect(last?.body).toMatchObject({ type: '/problems/rate-limited' });
    expect(Number(last?.headers['retry-after'])).toBeGreaterThan(0);
  });
});

/** Counts requests to storage per method, through each table client's own pipeline. */
async function countStorage(tables: readonly string[]): Promise<{ reads: () => number; reset: () => void }> {
  let reads = 0;
  const policy: PipelinePolicy = {
    name: 'count-reads',
    sendRequest: (request, next) => {
      if (request.method === 'GET') reads++;
      return next(request);
    },
  };
  for (const name of tables) (await testServices().storage.table(name)).pipeline.addPolicy(policy);
  return { reads: () => reads, reset: () => (reads = 0) };
}

describe('password reset storage reads', () => {
  it('are the same for an environment of 5 users and one of 400', async () => {
    const { storage, clock } = testServices();
    const sent: OutgoingMail[] = [];
    const service = createPasswordReset({
      storage,
      clock,
      environments: createEnvironmentsRepository({ storage, clock }),
      users: {
        findActiveByEmail: (environmentId, email) =>
          createUsersRepository(storage).findActiveUsersByEmail(environmentId, email),
      },
      mailer: {
        send: (mail) => {
          sent.push(mail);
          return Promise.resolve();
        },
      },
      limiter: createMailLimiter(storage),
      throttle: createThrottle({ storage, clock }),
    });
    const counter = await countStorage([
      ENVIRONMENTS_TABLE,
      ACCESS_TABLE,
      EMAIL_INDEX_TABLE,
      MAIL_LIMIT_TABLE,
    ]);
    const readsFor = async (size: number): Promise<number> => {
      const environmentId = uniqueName('size');
      await testRepositories().environments.save({
        id: environmentId,
        name: 'S',
        externalUsersIntegration: true,
      });
      const directoryId = guid();
      const patches: AccessPatch[] = Array.from({ length: size }, (_, i) => {
        const objectId = guid();
        return {
          userId: userIdOf(directoryId, objectId),
          directoryId,
          objectId,
          displayName: `U${i}`,
          email: `u${i}-${environmentId}@example.test`,
          active: true,
          groups: [],
          menus: [],
        };
      });
      const users = createUsersRepository(storage);
      const byPartition = new Map<string, AccessPatch[]>();
      for (const patch of patches) {
        const key = patch.userId.charAt(0);
        byPartition.set(key, [...(byPartition.get(key) ?? []), patch]);
      }
      for (const group of byPartition.values()) {
        for (let i = 0; i < group.length; i += 100)
          await users.writeAccessBatch(environmentId, group.slice(i, i + 100));
      }
      counter.reset();
      const outcome = await service.process(
        {
          email: `U3-${environmentId}@EXAMPLE.test`,
          environment: environmentId,
          requestedAt: clock.now().toISOString(),
        },
        newContext(),
      );
      expect(outcome).toBe('sent');
      return counter.reads();
    };
    const small = await readsFor(5);
    const large = await readsFor(400);
    expect(small).toBeGreaterThan(0);
    expect(large).toBe(small);
  });
});

describe('management keys during an issuer outage', () => {
  it('serves with the last good key set for an hour past its age, then 503 keys-unavailable', async () => {
    const { createServer } = await import('node:http');
    const { createManagementAuth } = await import('../../shared/auth/management.js');
    const azureFunctions = (await import('@azure/functions')).default;
    const { problemResponse } = await import('../../shared/http/problem.js');
    let up = true;
    const server = createServer((_request, response) => {
      if (!up) {
        response.writeHead(503).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(keys().jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    let now = Date.now();
    const settings = {
      ...testServices().config.management,
      jwksUri: `http://127.0.0.1:${address.port}/keys`,
    };
    const auth = createManagementAuth({ settings, clock: { now: () => new Date(now) } });
    const token = await keys().token({ sub: 'op', roles: ['platform-operator'], expiresInSeconds: 3 * 3600 });
    const request = () =>
      new azureFunctions.HttpRequest({
        method: 'GET',
        url: 'http://localhost/api/tenants',
        headers: { authorization: `Bearer ${token}` },
      });
    try {
      await expect(auth.authenticate(request())).resolves.toMatchObject({ sub: 'op' });
      up = false;
      now += 60 * 60_000;
      await expect(auth.authenticate(request())).resolves.toMatchObject({ sub: 'op' });
      now += 15 * 60_000;
      const refused = await auth.authenticate(request()).then(
        () => undefined,
        (error: unknown) => error,
      );
      const answer = problemResponse(refused);
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body as string)).toMatchObject({ type: '/problems/keys-unavailable' });
      expect((answer.headers as Record<string, string>)['retry-after']).toBe('30');
      up = true;
      now += 60_000;
      await expect(auth.authenticate(request())).resolves.toMatchObject({ sub: 'op' });
    } finally {
      server.close();
    }
  });
});
