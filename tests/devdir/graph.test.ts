import { ConfidentialClientApplication } from '@azure/msal-node';
import { Client, GraphError } from '@microsoft/microsoft-graph-client';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDirectory,
  generatedUserId,
  type GroupInfo,
  type TestDirectory,
} from '../support/dev-directory.js';

const SELECT = 'id,displayName,givenName,surname,mail,otherMails,userPrincipalName,accountEnabled';

describe('Graph v1.0 of the dev directory', () => {
  let directory: TestDirectory;
  let token: string;
  let client: Client;
  let group: GroupInfo;

  async function graph(
    path: string,
    init: RequestInit = {},
    bearer = token,
  ): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
    const response = await fetch(`${directory.graphBaseUrl}/v1.0${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${bearer}`,
        'content-type': 'application/json',
        ...(init.headers ?? {}),
      },
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  }

  beforeAll(async () => {
    directory = await createTestDirectory({ displayName: 'Graph test', domain: 'graph.example' });
    const msal = new ConfidentialClientApplication({
      auth: {
        clientId: directory.app.clientId,
        clientSecret: directory.app.clientSecret,
        authority: `${directory.authorityHost}/${directory.id}`,
        knownAuthorities: [new URL(directory.authorityHost).host],
      },
    });
    token =
      (await msal.acquireTokenByClientCredential({ scopes: [`${directory.graphBaseUrl}/.default`] }))
        ?.accessToken ?? '';
    client = Client.init({
      authProvider: (done) => done(null, token),
      baseUrl: directory.graphBaseUrl,
      customHosts: new Set([new URL(directory.graphBaseUrl).hostname]),
    });
    const guest = await directory.addUser({
      displayName: 'Gina Guest',
      userPrincipalName: 'gina_partner.example#EXT#@graph.example',
      mail: null,
      otherMails: ['gina@partner.example'],
    });
    const disabled = await directory.addUser({ displayName: 'Dave Disabled', accountEnabled: false });
    group = await directory.addGroup('Partners', [guest.id, disabled.id]);
  });

  it('returns users with the selected properties, guests without mail and disabled accounts included', async () => {
    const page = (await client
      .api(`/groups/${group.id}/transitiveMembers/microsoft.graph.user?$select=${SELECT}&$top=999`)
      .get()) as { '@odata.context': string; value: Record<string, unknown>[] };
    expect(page['@odata.context']).toBe(`${directory.graphBaseUrl}/v1.0/$metadata#users(${SELECT})`);
    expect(page.value).toEqual([
      {
        '@odata.type': '#microsoft.graph.user',
        id: expect.any(String) as unknown,
        displayName: 'Gina Guest',
        givenName: null,
        surname: null,
        mail: null,
        otherMails: ['gina@partner.example'],
        userPrincipalName: 'gina_partner.example#EXT#@graph.example',
        accountEnabled: true,
      },
      expect.objectContaining({ displayName: 'Dave Disabled', accountEnabled: false }),
    ]);
    // Without $select, accountEnabled and otherMails are not returned (as on Graph).
    const plain = (await client.api(`/groups/${group.id}/transitiveMembers/microsoft.graph.user`).get()) as {
      value: Record<string, unknown>[];
    };
    expect(plain.value[0]).not.toHaveProperty('accountEnabled');
    expect(plain.value[0]).not.toHaveProperty('otherMails');
    expect(plain.value[0]).toHaveProperty('userPrincipalName');
  });

  it('defaults to pages of 100, refuses $top above 999, and counts with ConsistencyLevel: eventual', async () => {
    const big = await directory.addGroup('Big');
    await directory.generateUsers(big.id, 250);
    const first = await graph(`/groups/${big.id}/transitiveMembers/microsoft.graph.user?$select=id`);
    expect((first.body.value as unknown[]).length).toBe(100);
    expect(String(first.body['@odata.nextLink'])).toContain('$skiptoken=');
    const tooBig = await graph(`/groups/${big.id}/transitiveMembers/microsoft.graph.user?$top=1000`);
    expect(tooBig.status).toBe(400);
    expect((tooBig.body.error as { code: string }).code).toBe('Request_BadRequest');
    const counted = await graph(
      `/groups/${big.id}/transitiveMembers/microsoft.graph.user?$count=true&$top=1`,
      {
        headers: { ConsistencyLevel: 'eventual' },
      },
    );
    expect(counted.body['@odata.count']).toBe(250);
  });

  it('retries a 429 after a fractional Retry-After, then succeeds (Graph client)', async () => {
    await directory.throttle({ requests: 2, retryAfterSeconds: 0.25 });
    await directory.resetRequestLog();
    const started = Date.now();
    const answer = (await client.api(`/groups/${group.id}?$select=id,displayName`).get()) as {
      displayName: string;
    };
    expect(answer.displayName).toBe('Partners');
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    const statuses = (await directory.graphRequests()).map((entry) => entry.status);
    expect(statuses).toEqual([429, 429, 200]);

    await directory.throttle({ requests: 1, retryAfterSeconds: 2.128 });
    const throttled = await graph(`/groups/${group.id}?$select=id`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('2.128');
    expect((throttled.body.error as { code: string }).code).toBe('TooManyRequests');
  });

  it('fails the next requests with 503/504/500 and a group persistently with 403 or 404', async () => {
    await directory.failRequests({ requests: 1, status: 503, retryAfterSeconds: 1 });
    const unavailable = await graph(`/groups/${group.id}?$select=id`);
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('retry-after')).toBe('1');
    expect((await graph(`/groups/${group.id}?$select=id`)).status).toBe(200);

    await directory.failGroup(group.id, 403);
    for (let i = 0; i < 2; i += 1) {
      const denied = await graph(`/groups/${group.id}/transitiveMembers/microsoft.graph.user?$select=id`);
      expect(denied.status).toBe(403);
      expect((denied.body.error as { code: string }).code).toBe('Authorization_RequestDenied');
    }
    await directory.failGroup(group.id, null);
    expect((await graph(`/groups/${group.id}?$select=id`)).status).toBe(200);

    await expect(client.api('/groups/0b8c6b2e-7d0b-4c55-8f53-4b1a2c3d4e5f').get()).rejects.toMatchObject({
      statusCode: 404,
      code: 'Request_ResourceNotFound',
    } satisfies Partial<GraphError>);
  });

  it('answers $batch with each part, at most 20 parts', async () => {
    await directory.throttle({ requests: 1, retryAfterSeconds: 0.5 });
    const answer = (await client.api('/$batch').post({
      requests: [
        { id: '1', method: 'GET', url: `/groups/${group.id}?$select=id,displayName` },
        { id: '2', method: 'GET', url: `/groups/${group.id}?$select=id,displayName` },
        {
          id: '3',
          method: 'GET',
          url: `/groups/${group.id}/transitiveMembers/microsoft.graph.user?$select=id&$top=999`,
        },
        { id: '4', method: 'GET', url: '/groups/0b8c6b2e-7d0b-4c55-8f53-4b1a2c3d4e5f?$select=id' },
      ],
    })) as {
      responses: {
        id: string;
        status: number;
        headers: Record<string, string>;
        body: Record<string, unknown>;
      }[];
    };
    expect(answer.responses.map((r) => [r.id, r.status])).toEqual([
      ['1', 429],
      ['2', 200],
      ['3', 200],
      ['4', 404],
    ]);
    expect(answer.responses[0]?.headers['Retry-After']).toBe('0.5');
    expect((answer.responses[2]?.body.value as unknown[]).length).toBe(2);
    expect((answer.responses[3]?.body.error as { code: string }).code).toBe('Request_ResourceNotFound');

    const tooMany = await graph('/$batch', {
      method: 'POST',
      body: JSON.stringify({
        requests: Array.from({ length: 21 }, (_, i) => ({
          id: String(i),
          method: 'GET',
          url: `/groups/${group.id}`,
        })),
      }),
    });
    expect(tooMany.status).toBe(400);
  });

  it('refuses expired, foreign-audience and missing tokens with 401 InvalidAuthenticationToken', async () => {
    const expired = await directory.issueAccessToken({ expiresInSeconds: -3600 });
    const answer = await graph(`/groups/${group.id}?$select=id`, {}, expired);
    expect(answer.status).toBe(401);
    expect(answer.body.error).toMatchObject({ code: 'InvalidAuthenticationToken' });
    expect((answer.body.error as { message: string }).message).toMatch(/expired/);

    const foreign = await directory.issueAccessToken({ audience: 'https://graph.microsoft.com' });
    expect((await graph(`/groups/${group.id}`, {}, foreign)).status).toBe(401);

    const other = await createTestDirectory();
    const otherToken = await other.issueAccessToken();
    // A token of another directory reads only that directory: this group does not exist there.
    expect((await graph(`/groups/${group.id}?$select=id`, {}, otherToken)).status).toBe(404);

    const none = await fetch(`${directory.graphBaseUrl}/v1.0/groups/${group.id}`);
    expect(none.status).toBe(401);
  });

  it('generates 100,000 users without listing them one by one and serves them by computed id', async () => {
    const huge = await directory.addGroup('Huge');
    const generated = await directory.generateUsers(huge.id, 100_000, { prefix: 'Load', disabledEvery: 10 });
    const counted = await graph(
      `/groups/${huge.id}/transitiveMembers/microsoft.graph.user?$count=true&$top=999&$select=id,accountEnabled`,
      {
        headers: { ConsistencyLevel: 'eventual' },
      },
    );
    expect(counted.body['@odata.count']).toBe(100_000);
    expect((counted.body.value as unknown[]).length).toBe(999);
    const tenth = await graph(
      `/users/${generatedUserId(generated.block, 9)}?$select=displayName,accountEnabled,mail`,
    );
    expect(tenth.body).toMatchObject({
      displayName: 'Load 10',
      accountEnabled: false,
      mail: 'load10@graph.example',
    });
    await directory.renameUser(generated.lastId, 'Renamed Last');
    expect((await directory.getUser(generated.lastId)).displayName).toBe('Renamed Last');
    await directory.removeMembers(huge.id, [generated.firstId]);
    const after = await graph(
      `/groups/${huge.id}/transitiveMembers/microsoft.graph.user?$count=true&$top=1`,
      {
        headers: { ConsistencyLevel: 'eventual' },
      },
    );
    expect(after.body['@odata.count']).toBe(99_999);
  });
});
