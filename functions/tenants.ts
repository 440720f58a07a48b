import { registerManagement } from '../shared/http/management-endpoints.js';
import { json, noContent, putAnswer, readJsonBody, routeParam } from '../shared/http/respond.js';
import { tenantBodySchema } from '../shared/tenants/schemas.js';
import { checkBodySchema } from '../shared/tenants/check.js';

registerManagement('tenantsList', {
  methods: ['GET'],
  route: 'tenants',
  handle: async ({ tenants }, _request, principal) => json(200, { tenants: await tenants.list(principal) }),
});

registerManagement('tenantPut', {
  methods: ['PUT'],
  route: 'tenants/{name}',
  handle: async ({ tenants }, request, principal) => {
    const { tenant, created } = await tenants.put(principal, routeParam(request, 'name'), () =>
      readJsonBody(request, tenantBodySchema),
    );
    return putAnswer(created, tenant, `/api/tenants/${encodeURIComponent(tenant.name)}`);
  },
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
