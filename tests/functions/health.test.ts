import { describe, expect, it, beforeAll } from 'vitest';
import azureFunctions from '@azure/functions';
import { buildServices, type Services } from '../../shared/app/services.js';
import { bindHandler, httpRegistrations } from '../../shared/host/registry.js';
import { testPorts, testServices, useTestEnvironment } from '../support/storage.js';
import { StorageAccount } from '../../shared/storage/account.js';
import { freePort } from '../../scripts/azurite.js';
import { bodyOf } from '../support/api.js';

const { HttpRequest, InvocationContext } = azureFunctions;

beforeAll(async () => {
  await import('../../functions/health.js');
});

function healthHandler(services: Services) {
  const registration = httpRegistrations().find((r) => r.name === 'health');
  if (!registration) throw new Error('health is not registered');
  return bindHandler(registration, services);
}

describe('GET /api/health', () => {
  it('answers 200 ok when storage answers', async () => {
    useTestEnvironment();
    const response = await healthHandler(testServices())(
      new HttpRequest({ method: 'GET', url: 'http://localhost/api/health' }),
      new InvocationContext(),
    );
    expect(response.status).toBe(200);
    expect(bodyOf(response)).toEqual({ status: 'ok' });
  });

  it('answers 503 problem+json when storage does not answer', async () => {
    const config = useTestEnvironment();
    const deadPort = await freePort();
    const connectionString = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${Buffer.from('x'.repeat(32)).toString('base64')};TableEndpoint=http://127.0.0.1:${deadPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:${deadPort}/devstoreaccount1`;
    const storage = new StorageAccount({ kind: 'connection-string', connectionString });
    const response = await healthHandler(buildServices(config, testPorts({ storage })))(
      new HttpRequest({ method: 'GET', url: 'http://localhost/api/health' }),
      new InvocationContext(),
    );
    expect(config.mode).toBe('local');
    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'content-type': 'application/problem+json' });
    expect(bodyOf(response)).toMatchObject({ status: 503, type: '/problems/storage-unavailable' });
  });
});
