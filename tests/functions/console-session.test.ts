import { randomBytes } from 'node:crypto';
import azureFunctions, { type HttpResponseInit } from '@azure/functions';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../shared/auth/signin-http.js';
import { bindHandler, httpRegistrations } from '../../shared/host/registry.js';
import { uniqueId } from '../support/ids.js';
import { testServices, useTestEnvironment } from '../support/storage.js';
import { seedSomeone } from '../support/users.js';
import { newContext } from './handler-support.js';

const { HttpRequest } = azureFunctions;

beforeAll(async () => {
  useTestEnvironment();
  await import('../../functions/console.js');
});
beforeEach(() => {
  useTestEnvironment();
});

/** GET /console/session.json with the given session cookie (none when undefined). */
async function consoleSession(secret?: string): Promise<HttpResponseInit & { json: unknown }> {
  const registration = httpRegistrations().find((r) => r.name === 'consoleSession');
  if (!registration) throw new Error('consoleSession is not registered');
  const request = new HttpRequest({
    method: 'GET',
    url: 'http://localhost:7071/console/session.json',
    headers: secret === undefined ? {} : { cookie: `${SESSION_COOKIE}=${secret}` },
  });
  const response = await bindHandler(registration, testServices())(request, newContext());
  if (typeof response.body !== 'string') throw new Error('expected a JSON text body');
  return { ...response, json: JSON.parse(response.body) as unknown };
}

async function signedInUser(active = true) {
  const environmentId = uniqueId('console-env');
  const user = await seedSomeone(environmentId, active);
  const session = await testServices().sessions.create(environmentId, user.id);
  return { environmentId, userId: user.id, session };
}

describe('GET /console/session.json', () => {
  it('answers 200 "not signed in" without a cookie, and sets none', async () => {
    const response = await consoleSession();
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ signedIn: false });
    expect(response.cookies ?? []).toEqual([]);
    expect((response.headers as Record<string, string>)['cache-control']).toBe('no-store');
  });

  it('answers a live session as GET /api/auth/session shows it', async () => {
    const { environmentId, userId, session } = await signedInUser();
    const response = await consoleSession(session.secret);
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      signedIn: true,
      session: {
        userId,
        displayName: 'Grace Hopper',
        email: 'grace@example.com',
        environment: environmentId,
        expiresAt: session.expiresAt.toISOString(),
      },
    });
  });

  it('answers 200 "not signed in" for an ended session or a deactivated user, and clears the cookie', async () => {
    const ended = await signedInUser();
    await testServices().sessions.end(ended.session.secret);
    const deactivated = await signedInUser(false);
    const unknown = randomBytes(32).toString('base64url');
    for (const secret of [ended.session.secret, deactivated.session.secret, unknown]) {
      const response = await consoleSession(secret);
      expect(response.status).toBe(200);
      expect(response.json).toEqual({ signedIn: false });
      expect(response.cookies?.map((cookie) => [cookie.name, cookie.value])).toEqual([[SESSION_COOKIE, '']]);
    }
  });
});
