import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestEnvironment, testRepositories } from '../support/storage.js';
import { uniqueId } from '../support/ids.js';
import { seedEnvironmentUser } from '../support/users.js';
import { call, useManagementKeys, type ManagementKeys } from './handler-support.js';

let keys: ManagementKeys;

beforeAll(async () => {
  useTestEnvironment();
  keys = await useManagementKeys();
  await import('../../functions/users.js');
});

async function environmentWithUsers(count: number) {
  const environmentId = uniqueId('env');
  await testRepositories().environments.save({
    id: environmentId,
    name: environmentId,
    externalUsersIntegration: true,
  });
  const directoryId = randomUUID();
  const users = [];
  for (let start = 0; start < count; start += 25) {
    users.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(25, count - start) }, (_, i) =>
          seedEnvironmentUser({
            environmentId,
            directoryId,
            objectId: randomUUID(),
            displayName: `User ${start + i}`,
            email: `user${start + i}@example.com`,
            menus: ['Home'],
            groups: ['g'],
          }),
        ),
      )),
    );
  }
  const token = await keys.token({
    sub: 'admin',
    roles: ['environment-admin'],
    environments: [environmentId],
  });
  return { environmentId, users, token };
}

describe('/api/environments/{envId}/users', () => {
  it('lists every user page by page with continuationToken', async () => {
    const { environmentId, users, token } = await environmentWithUsers(130);
    const seen: string[] = [];
    let continuationToken: string | undefined;
    let pages = 0;
    do {
      const query =
        continuationToken === undefined ? '' : `?continuationToken=${encodeURIComponent(continuationToken)}`;
      const page = await call('usersList', {
        method: 'GET',
        path: `environments/${environmentId}/users${query}`,
        params: { envId: environmentId },
        token,
      });
      expect(page.status).toBe(200);
      const body = page.body as { users: { id: string }[]; continuationToken?: string };
      seen.push(...body.users.map((u) => u.id));
      continuationToken = body.continuationToken;
      pages++;
    } while (continuationToken !== undefined);
    expect(pages).toBe(2);
    expect(seen.sort()).toEqual(users.map((u) => u.id).sort());
    const bad = await call('usersList', {
      method: 'GET',
      path: `environments/${environmentId}/users?continuationToken=not-ours`,
      params: { envId: environmentId },
      token,
    });
    expect(bad.status).toBe(400);
  });

  it('gets one user in the §3.5 shape; 404 for unknown users and environments; 403 for others', async () => {
    const { environmentId, users, token } = await environmentWithUsers(1);
    const user = users[0]!;
    const got = await call('usersItem', {
      method: 'GET',
      path: `environments/${environmentId}/users/${user.id}`,
      params: { envId: environmentId, userId: user.id },
      token,
    });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({
      id: user.id,
      source: 'external',
      directoryId: user.directoryId,
      objectId: user.objectId,
      displayName: 'User 0',
      email: 'user0@example.com',
      active: true,
      menus: ['Home'],
      groups: ['g'],
    });
    const missing = await call('usersItem', {
      method: 'GET',
      path: `environments/${environmentId}/users/nobody`,
      params: { envId: environmentId, userId: 'nobody' },
      token,
    });
    expect(missing.status).toBe(404);
    const operator = await keys.token({ sub: 'op', roles: ['platform-operator'] });
    const unknownEnvironment = await call('usersList', {
      method: 'GET',
      path: `environments/env-missing-x/users`,
      params: { envId: 'env-missing-x' },
      token: operator,
    });
    expect(unknownEnvironment.status).toBe(404);
    const other = await keys.token({ sub: 'x', roles: ['environment-admin'], environments: ['elsewhere'] });
    const forbidden = await call('usersItem', {
      method: 'GET',
      path: `environments/${environmentId}/users/${user.id}`,
      params: { envId: environmentId, userId: user.id },
      token: other,
    });
    expect(forbidden.status).toBe(403);
    const anonymous = await call('usersList', {
      method: 'GET',
      path: `environments/${environmentId}/users`,
      params: { envId: environmentId },
    });
    expect(anonymous.status).toBe(401);
  });

  it('PATCH changes menus only; touching displayName, email or active is 409 managed-externally and changes nothing', async () => {
    const { environmentId, users, token } = await environmentWithUsers(1);
    const user = users[0]!;
    const patch = (body: unknown) =>
      call('usersItem', {
        method: 'PATCH',
        path: `environments/${environmentId}/users/${user.id}`,
        params: { envId: environmentId, userId: user.id },
        token,
        body,
      });
    const changed = await patch({ menus: ['Home', 'Reports'] });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id: user.id, menus: ['Home', 'Reports'], displayName: 'User 0' });

    for (const body of [
      { displayName: 'Hacker' },
      { email: 'x@example.com' },
      { active: false },
      { active: true, menus: ['Nope'] },
    ]) {
      const refused = await patch(body);
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ type: '/problems/managed-externally', status: 409 });
    }
    const bad = await patch({ menus: 'Home' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      type: '/problems/validation',
      errors: { menus: expect.any(String) as string },
    });

    const after = await call('usersItem', {
      method: 'GET',
      path: `environments/${environmentId}/users/${user.id}`,
      params: { envId: environmentId, userId: user.id },
      token,
    });
    expect(after.body).toMatchObject({
      displayName: 'User 0',
      email: 'user0@example.com',
      active: true,
      menus: ['Home', 'Reports'],
    });
    const missing = await call('usersItem', {
      method: 'PATCH',
      path: `environments/${environmentId}/users/nobody`,
      params: { envId: environmentId, userId: 'nobody' },
      token,
      body: { menus: [] },
    });
    expect(missing.status).toBe(404);
  });
});
