import { registerManagement, registerManagementPut } from '../shared/http/management-endpoints.js';
import { json, noContent, readJsonBody, routeParam } from '../shared/http/respond.js';
import { tenantBodySchema } from '../shared/tenants/schemas.js';
import { checkBodySchema } from '../shared/tenants/check.js';

registerManagement('tenantsList', {
  methods: ['GET'],
  route: 'tenants',
  handle: async ({ tenants }, _request, principal) => json(200, { tenants: await tenants.list(principal) }),
});

registerManagementPut('tenantPut', {
  route: 'tenants/{name}',
  param: 'name',
  schema: tenantBodySchema,
  put: ({ tenants }) => tenants.put,
  location: (tenant) => `/api/tenants/${encodeURIComponent(tenant.name)}`,
});

registerManagement('tenantGet', {
  methods: ['GET'],
  route: 'tenants/{name}',
  handle: async ({ tenants }, request, principal) =>
    json(200, await tenants.read(principal, routeParam(request, 'name'))),
});

registerManagement('tenantDelete', {
  methods: ['DELETE'],
  route: 'tenants/{name}',
  handle: async ({ tenants }, request, principal) => {
    await tenants.remove(principal, routeParam(request, 'name'));
    return noContent();
  },
});

registerManagement('tenantCheck', {
  methods: ['POST'],
  route: 'tenants/{name}/check',
  handle: async ({ tenantCheck }, request, principal) =>
    json(
      200,
      await tenantCheck.check(principal, routeParam(request, 'name'), () =>
        readJsonBody(request, checkBodySchema, { optional: true }),
      ),
    ),
});
