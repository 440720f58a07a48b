import type { HttpRequest } from '@azure/functions';
import { authenticate } from '../shared/auth/management.js';
import { registerHttp } from '../shared/host/registry.js';
import { json, noContent, readJsonBody, withProblems } from '../shared/http/respond.js';
import {
  putTenant,
  readTenant,
  readTenants,
  removeTenant,
  tenantBodySchema,
} from '../shared/tenants/service.js';

const nameOf = (request: HttpRequest): string => request.params.name ?? '';

registerHttp('tenantsList', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'tenants',
  handler: withProblems(async (request) => {
    const principal = await authenticate(request);
    return json(200, { tenants: await readTenants(principal) });
  }),
});

registerHttp('tenantPut', {
  methods: ['PUT'],
  authLevel: 'anonymous',
  route: 'tenants/{name}',
  handler: withProblems(async (request) => {
    const principal = await authenticate(request);
    const { tenant, created } = await putTenant(principal, nameOf(request), () =>
      readJsonBody(request, tenantBodySchema),
    );
    return created
      ? json(201, tenant, { location: `/api/tenants/${encodeURIComponent(tenant.name)}` })
      : json(200, tenant);
  }),
});

registerHttp('tenantGet', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'tenants/{name}',
  handler: withProblems(async (request) => {
    const principal = await authenticate(request);
    return json(200, await readTenant(principal, nameOf(request)));
  }),
});

registerHttp('tenantDelete', {
  methods: ['DELETE'],
  authLevel: 'anonymous',
  route: 'tenants/{name}',
  handler: withProblems(async (request) => {
    const principal = await authenticate(request);
    await removeTenant(principal, nameOf(request));
    return noContent();
  }),
});
