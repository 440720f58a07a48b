import { beforeAll, describe, expect, it } from 'vitest';
import { useTestEnvironment } from '../support/storage.js';
import { call } from './handler-support.js';

beforeAll(async () => {
  await import('../../functions/tenants.js');
  await import('../../functions/notFound.js');
  useTestEnvironment();
});

describe('the catch-all route', () => {
  it('answers 404 problem+json for an unknown route', async () => {
    const response = await call('notFound', {
      method: 'GET',
      path: 'no/such/route',
      params: { path: 'no/such/route' },
    });
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.body).toMatchObject({ type: '/problems/not-found', status: 404 });
    expect((response.body as { detail: string }).detail).toContain('/api/no/such/route');
  });

  it('answers 405 with Allow for a known route called with another method', async () => {
    const response = await call('notFound', {
      method: 'PATCH',
      path: 'tenants/acme',
      params: { path: 'tenants/acme' },
    });
    expect(response.status).toBe(405);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers.allow).toBe('DELETE, GET, PUT');
    expect(response.body).toMatchObject({ type: '/problems/method-not-allowed', status: 405 });
  });
});
