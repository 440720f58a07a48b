import { ConfidentialClientApplication } from '@azure/msal-node';
import { Client } from '@microsoft/microsoft-graph-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDirectory, devDirectoryOrigin, type TestDirectory } from '../support/dev-directory.js';

const SELECT = 'id,displayName,givenName,surname,mail,otherMails,userPrincipalName,accountEnabled';

async function appToken(directory: TestDirectory, secret = directory.app.clientSecret): Promise<string> {
  const msal = new ConfidentialClientApplication({
    auth: {
      clientId: directory.app.clientId,
      clientSecret: secret,
      authority: `${directory.authorityHost}/${directory.id}`,
      knownAuthorities: [new URL(directory.authorityHost).host],
    },
  });
  const result = await msal.acquireTokenByClientCredential({
    scopes: [`${directory.graphBaseUrl}/.default`],
  });
  if (result === null) throw new Error('no token');
  return result.accessToken;
}

function graphClient(directory: TestDirectory, token: string): Client {
  return Client.init({
    authProvider: (done) => done(null, token),
    baseUrl: directory.graphBaseUrl,
    customHosts: new Set([new URL(directory.graphBaseUrl).hostname]),
  });
}

describe('dev directory core', () => {
  let directory: TestDirectory;
  let token: string;

  beforeAll(async () => {
    directory = await createTestDirectory({ displayName: 'Core test' });
    token = await appToken(directory);
  });

  it('is trusted by the test workers through NODE_EXTRA_CA_CERTS (global fetch, https://localhost)', async () => {
    expect(process.env.NODE_EXTRA_CA_CERTS).toBeTruthy();
    const response = await fetch(
      `${devDirectoryOrigin()}/${directory.id}/v2.0/.well-known/openid-configuration`,
    );
    expect(response.status).toBe(200);
    const document = (await response.json()) as Record<string, unknown>;
    expect(document.issuer).toBe(`${devDirectoryOrigin()}/${directory.id}/v2.0`);
    expect(document.jwks_uri).toBe(`${devDirectoryOrigin()}/${directory.id}/discovery/v2.0/keys`);
    const keys = (await (await fetch(String(document.jwks_uri))).json()) as {
      keys: { kid: string; kty: string }[];
    };
    expect(keys.keys[0]?.kty).toBe('RSA');
    // The certificate names the loopback address too, whichever one `localhost` resolves to.
    const port = new URL(devDirectoryOrigin()).port;
    const byAddress = await fetch(`https://127.0.0.1:${port}/${directory.id}/discovery/v2.0/keys`);
    expect(byAddress.status).toBe(200);
  });

  it('answers an unknown tenant as Entra does (AADSTS90002)', async () => {
    const response = await fetch(
      `${devDirectoryOrigin()}/00000000-0000-4000-8000-000000000000/v2.0/.well-known/openid-configuration`,
    );
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; error_codes: number[] };
    expect(body.error).toBe('invalid_tenant');
    expect(body.error_codes).toEqual([90002]);
  });

  it('issues app tokens by client credentials through msal-node, which Graph accepts', async () => {
    const group = await directory.addGroup('Engineering');
    const client = graphClient(directory, token);
    const answer = (await client.api(`/groups/${group.id}`).select(['id', 'displayName']).get()) as Record<
      string,
      unknown
    >;
    expect(answer).toEqual({
      '@odata.context': `${directory.graphBaseUrl}/v1.0/$metadata#groups(id,displayName)/$entity`,
      id: group.id,
      displayName: 'Engineering',
    });
  });

  it('pages through 2,500 transitive members of nested groups with $top=999, and with a capped page size', async () => {
    const inner = await directory.addGroup('Inner');
    await directory.generateUsers(inner.id, 1_500, { prefix: 'Inner' });
    const outer = await directory.addGroup('Outer', [inner.id]);
    await directory.generateUsers(outer.id, 1_000, { prefix: 'Outer' });
    const device = await directory.addDevice('Laptop');
    await directory.addMembers(inner.id, [device.id]);
    const client = graphClient(directory, token);
    const path = `/groups/${outer.id}/transitiveMembers/microsoft.graph.user?$select=${SELECT}&$top=999`;

    const collect = async (): Promise<{ users: Record<string, unknown>[]; pages: number }> => {
      const users: Record<string, unknown>[] = [];
      let pages = 0;
      let page = (await client.api(path).get()) as {
        value: Record<string, unknown>[];
        '@odata.nextLink'?: string;
      };
      for (;;) {
        pages += 1;
        users.push(...page.value);
        const next = page['@odata.nextLink'];
        if (next === undefined) break;
        page = (await client.api(next).get()) as typeof page;
      }
      return { users, pages };
    };

    await directory.resetRequestLog();
    const full = await collect();
    expect(full.pages).toBe(3);
    expect(full.users).toHaveLength(2_500);
    expect(new Set(full.users.map((u) => u.id)).size).toBe(2_500);
    expect(full.users.every((u) => u['@odata.type'] === '#microsoft.graph.user')).toBe(true);
    expect(Object.keys(full.users[0] ?? {}).sort()).toEqual(['@odata.type', ...SELECT.split(',')].sort());
    expect((await directory.graphRequests()).length).toBe(3);

    await directory.capPageSize(100);
    const capped = await collect();
    expect(capped.pages).toBe(25);
    expect(capped.users.map((u) => u.id)).toEqual(full.users.map((u) => u.id));
    await directory.clearFaults();

    // Without the cast, nested groups and devices are listed too.
    const all = (await client.api(`/groups/${outer.id}/transitiveMembers?$select=id&$top=999`).get()) as {
      value: { '@odata.type': string }[];
    };
    const types = new Set(all.value.map((o) => o['@odata.type']));
    expect(types).toEqual(
      new Set(['#microsoft.graph.group', '#microsoft.graph.user', '#microsoft.graph.device']),
    );
  });

  it('answers an unknown group 404 Request_ResourceNotFound', async () => {
    const missing = '6f1f0b5e-3d7e-4c1a-9a55-000000000404';
    const response = await fetch(`${directory.graphBaseUrl}/v1.0/groups/${missing}?$select=id,displayName`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('Request_ResourceNotFound');
    expect(body.error.message).toContain(missing);
  });
});
