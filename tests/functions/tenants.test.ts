import { TableClient, TableServiceClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import {
  saveConfiguredEnvironment,
  testConnectionString,
  testRepositories,
  testServices,
} from '../support/storage.js';
import { call, callTenant, capturedLogs, putTenant, tenantBody, useHandlerTests } from './handler-support.js';
import { guid, uniqueId } from '../support/ids.js';
import { createTenantHealth } from '../../shared/tenants/health.js';

const { tokens, keys } = useHandlerTests(() => import('../../functions/tenants.js'), {
  operator: { sub: 'op-1', roles: ['platform-operator'] },
  partnerA: { sub: 'partner-a', roles: ['partner'] },
  partnerB: { sub: 'partner-b', roles: ['partner'] },
  admin: { sub: 'admin-1', roles: ['environment-admin'], environments: ['env-1'] },
});

const put = putTenant;

describe('PUT /api/tenants/{name}', () => {
  it('creates (201, owner = sub, no secret) then updates (200) keeping the secret when omitted', async () => {
    const name = uniqueId('t');
    const body = tenantBody();
    const created = await put(name, body, tokens.partnerA);
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`/api/tenants/${name}`);
    expect(created.body).toMatchObject({
      name,
      directoryId: body.directoryId,
      clientId: body.clientId,
      environments: ['env-1'],
      authorityHost: 'https://login.microsoftonline.com',
      graphBaseUrl: 'https://graph.microsoft.com',
      owner: 'partner-a',
      hasClientSecret: true,
    });
    expect(created.body).not.toHaveProperty('clientSecret');

    const withoutSecret = { ...body };
    delete withoutSecret.clientSecret;
    const updated = await put(
      name,
      { ...withoutSecret, environments: ['env-1', 'env-2'], graphBaseUrl: 'https://graph.microsoft.us/' },
      tokens.partnerA,
    );
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      environments: ['env-1', 'env-2'],
      graphBaseUrl: 'https://graph.microsoft.us',
      hasClientSecret: true,
      owner: 'partner-a',
    });
    const connection = await testRepositories().tenants.getConnection(name);
    expect(connection?.clientSecret).toBe(body.clientSecret);
    expect(connection?.environments).toEqual(['env-1', 'env-2']);
  });

  it('forgets its health when it reaches its directory otherwise; keeps it for other changes', async () => {
    const name = uniqueId('t');
    const body = tenantBody();
    expect((await put(name, body, tokens.partnerA)).status).toBe(201);
    const health = createTenantHealth(testServices().storage);
    const ok = async () => health.record(name, { ok: true }, new Date(), { whenChanged: false });
    const withoutSecret = { ...body };
    delete withoutSecret.clientSecret;

    await ok();
    const environmentsOnly = await put(name, { ...withoutSecret, environments: ['env-2'] }, tokens.partnerA);
    expect(environmentsOnly.body).toMatchObject({ status: { state: 'ok' } });
    for (const change of [
      { ...withoutSecret, clientSecret: 'another-secret' },
      { ...withoutSecret, clientId: guid() },
      { ...withoutSecret, directoryId: guid() },
      { ...withoutSecret, graphBaseUrl: 'https://graph.microsoft.us' },
    ]) {
      await ok();
      const changed = await put(name, change, tokens.partnerA);
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({ status: { state: 'unknown' } });
    }
  });

  it('replaces the secret when a new one is given', async () => {
    const name = uniqueId('t');
    await put(name, tenantBody(), tokens.partnerA);
    const next = tenantBody({ clientSecret: 'the-new-secret' });
    expect((await put(name, next, tokens.partnerA)).status).toBe(200);
    expect((await testRepositories().tenants.getConnection(name))?.clientSecret).toBe('the-new-secret');
  });

  it('names every bad field', async () => {
    const response = await put(
      'valid-name',
      {
        directoryId: 'not-a-guid',
        clientId: 42,
        clientSecret: '',
        environments: ['ok', 'bad env!'],
        authorityHost: 'http://login.microsoftonline.com',
        graphBaseUrl: 'graph.microsoft.com',
      },
      tokens.partnerA,
    );
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toBe('application/problem+json');
    const problem = response.body as { type: string; errors: Record<string, string> };
    expect(problem.type).toBe('/problems/validation');
    expect(problem.errors).toMatchObject({
      directoryId: 'must be a GUID',
      clientId: 'must be a GUID',
      clientSecret: 'must not be empty',
      environments: 'item 2: must be 1–64 of A-Z a-z 0-9 _ -',
      authorityHost: 'must be an https URL',
      graphBaseUrl: 'must be an https URL',
    });
  });

  it('requires directoryId, clientId, environments, and the secret on create', async () => {
    const missing = await put(uniqueId('t'), {}, tokens.partnerA);
    expect(missing.status).toBe(400);
    expect((missing.body as { errors: Record<string, string> }).errors).toMatchObject({
      directoryId: 'is required',
      clientId: 'is required',
      environments: 'is required',
    });
    const noSecret = tenantBody();
    delete noSecret.clientSecret;
    const noSecretResponse = await put(uniqueId('t'), noSecret, tokens.partnerA);
    expect(noSecretResponse.status).toBe(400);
    expect((noSecretResponse.body as { errors: Record<string, string> }).errors).toEqual({
      clientSecret: 'is required when creating a tenant',
    });
    // Named together with what the host policy refuses, not one after the other.
    const noSecretForeignHost = await put(
      uniqueId('t'),
      { ...noSecret, graphBaseUrl: 'https://graph.evil.example' },
      tokens.partnerA,
    );
    expect(Object.keys((noSecretForeignHost.body as { errors: Record<string, string> }).errors)).toEqual([
      'graphBaseUrl',
      'clientSecret',
    ]);
  });

  it.each(['UPPER', 'under_score', 'a'.repeat(64), 'dot.ted'])('refuses the name %s', async (name) => {
    const response = await put(name, tenantBody(), tokens.partnerA);
    expect(response.status).toBe(400);
    expect((response.body as { errors: Record<string, string> }).errors).toHaveProperty('name');
  });

  it('accepts 63 characters of a-z 0-9 -', async () => {
    const name = `x-${'9'.repeat(10)}-${Date.now().toString(36)}`.padEnd(63, 'z');
    expect((await put(name, tenantBody(), tokens.partnerA)).status).toBe(201);
  });

  it('lets several tenants use the same directory', async () => {
    const directoryId = guid();
    expect((await put(uniqueId('t'), tenantBody({ directoryId }), tokens.partnerA)).status).toBe(201);
    expect((await put(uniqueId('t'), tenantBody({ directoryId }), tokens.partnerB)).status).toBe(201);
  });

  it.each([
    [
      'malformed JSON',
      { rawBody: '{"directoryId": ', contentType: 'application/json' },
      400,
      '/problems/validation',
    ],
    [
      'a wrong content type',
      { rawBody: JSON.stringify(tenantBody()), contentType: 'text/plain' },
      415,
      '/problems/validation',
    ],
    [
      'an oversized body',
      {
        rawBody: JSON.stringify(tenantBody({ clientSecret: 'x'.repeat(70_000) })),
        contentType: 'application/json',
      },
      413,
      '/problems/validation',
    ],
  ])('answers problem+json for %s', async (_case, { rawBody, contentType }, status, type) => {
    const name = uniqueId('t');
    const answer = await call('tenantPut', {
      method: 'PUT',
      path: `tenants/${name}`,
      params: { name },
      rawBody,
      headers: { 'content-type': contentType },
      token: tokens.partnerA,
    });
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.body).toMatchObject({ type, status });
    // A validation problem names what is wrong: here the body as a whole.
    expect((answer.body as { errors?: Record<string, string> }).errors).toHaveProperty('body');
  });
});

describe('ownership', () => {
  it("forbids a partner another's tenant; lets the operator change it without taking it over", async () => {
    const name = uniqueId('t');
    await put(name, tenantBody(), tokens.partnerA);
    expect((await callTenant('tenantGet', name, tokens.partnerB)).status).toBe(403);
    expect((await put(name, tenantBody(), tokens.partnerB)).status).toBe(403);
    expect((await callTenant('tenantDelete', name, tokens.partnerB)).status).toBe(403);
    const byOperator = await put(name, tenantBody({ environments: ['env-9'] }), tokens.operator);
    expect(byOperator.status).toBe(200);
    expect(byOperator.body).toMatchObject({ owner: 'partner-a', environments: ['env-9'] });
    const read = await callTenant('tenantGet', name, tokens.partnerA);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ name, owner: 'partner-a', hasClientSecret: true });
  });

  it('refuses tenants to environment admins and anonymous callers', async () => {
    const name = uniqueId('t');
    await put(name, tenantBody(), tokens.partnerA);
    expect((await put(uniqueId('t'), tenantBody(), tokens.admin)).status).toBe(403);
    expect((await callTenant('tenantGet', name, tokens.admin)).status).toBe(403);
    expect((await call('tenantsList', { method: 'GET', path: 'tenants', token: tokens.admin })).status).toBe(
      403,
    );
    const anonymous = await call('tenantGet', { method: 'GET', path: `tenants/${name}`, params: { name } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ type: '/problems/unauthorized', status: 401 });
  });

  it('lists all tenants for the operator and only its own for a partner', async () => {
    const sub = uniqueId('p');
    const partner = await keys().token({ sub, roles: ['partner'] });
    const mine = uniqueId('mine');
    const theirs = uniqueId('theirs');
    await put(mine, tenantBody(), partner);
    await put(theirs, tenantBody(), tokens.partnerB);
    const own = await call('tenantsList', { method: 'GET', path: 'tenants', token: partner });
    expect(own.status).toBe(200);
    const ownNames = (own.body as { tenants: { name: string }[] }).tenants.map((t) => t.name);
    expect(ownNames).toEqual([mine]);
    const all = await call('tenantsList', { method: 'GET', path: 'tenants', token: tokens.operator });
    const allNames = (all.body as { tenants: { name: string; clientSecret?: string }[] }).tenants.map(
      (t) => t.name,
    );
    expect(allNames).toEqual(expect.arrayContaining([mine, theirs]));
  });
});

describe('DELETE /api/tenants/{name}', () => {
  it('answers 204, then 404', async () => {
    const name = uniqueId('t');
    await put(name, tenantBody(), tokens.partnerA);
    expect((await callTenant('tenantDelete', name, tokens.partnerA)).status).toBe(204);
    const gone = await callTenant('tenantGet', name, tokens.partnerA);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ type: '/problems/not-found' });
    expect((await callTenant('tenantDelete', name, tokens.partnerA)).status).toBe(404);
  });

  it('answers 409 while an environment uses it', async () => {
    const name = uniqueId('t');
    const environmentId = uniqueId('env');
    await put(name, tenantBody({ environments: [environmentId] }), tokens.partnerA);
    await saveConfiguredEnvironment({ id: environmentId, name: 'In use', tenant: name });
    const response = await callTenant('tenantDelete', name, tokens.partnerA);
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ type: '/problems/conflict', environments: [environmentId] });
    expect(await testRepositories().tenants.getConnection(name)).toBeDefined();
  });
});

describe('the client secret', () => {
  it('is never in a response, a log line or any table, and the audit trail records only that it changed', async () => {
    const secret = `never-show-${guid()}`;
    const name = uniqueId('t');
    const responses = [
      await put(name, tenantBody({ clientSecret: secret }), tokens.partnerA),
      await put(name, tenantBody({ clientSecret: secret, environments: ['other'] }), tokens.operator),
      await put(name, tenantBody({ clientSecret: secret }), tokens.partnerB),
      await put(name, tenantBody({ clientSecret: secret, directoryId: 'bad' }), tokens.partnerA),
      await callTenant('tenantGet', name, tokens.partnerA),
      await call('tenantsList', { method: 'GET', path: 'tenants', token: tokens.operator }),
    ];
    for (const response of responses) expect(response.text).not.toContain(secret);
    expect(capturedLogs.length).toBeGreaterThan(0);
    expect(JSON.stringify(capturedLogs)).not.toContain(secret);

    const connectionString = testConnectionString();
    const service = TableServiceClient.fromConnectionString(connectionString, {
      allowInsecureConnection: true,
    });
    let scanned = 0;
    for await (const table of service.listTables()) {
      const client = TableClient.fromConnectionString(connectionString, table.name!, {
        allowInsecureConnection: true,
      });
      for await (const entity of client.listEntities()) {
        scanned++;
        expect(JSON.stringify(entity)).not.toContain(secret);
        expect(JSON.stringify(entity)).not.toContain(Buffer.from(secret).toString('base64'));
      }
    }
    expect(scanned).toBeGreaterThan(0);
    expect((await testRepositories().tenants.getConnection(name))?.clientSecret).toBe(secret);

    const trail = await testServices().audit.list({ kind: 'tenant', id: name });
    expect(trail.map((entry) => entry.action)).toEqual(['tenant.updated', 'tenant.created']);
    expect(trail[0]).toMatchObject({
      actor: 'op-1',
      changes: {
        environments: { from: ['env-1'], to: ['other'] },
        clientSecret: { secret: true, changed: true },
      },
    });
    expect(trail[1]?.actor).toBe('partner-a');
  });
});
