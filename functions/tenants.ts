import { registerHttp } from '../shared/host/registry.js';
import { json, noContent, readJsonBody, routeParam, withProblems } from '../shared/http/respond.js';
import { tenantBodySchema } from '../shared/tenants/schemas.js';
import { checkBodySchema } from '../shared/tenants/check.js';

registerHttp('tenantsList', {
  methods: ['GET'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'tenants',
  handler: ({ management, tenants }) =>
    withProblems(async (request) => {
      const principal = await management.authenticate(request);
      return json(200, { tenants: await tenants.list(principal) });
    }),
});

registerHttp('tenantPut', {
  methods: ['PUT'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'tenants/{name}',
  handler: ({ management, tenants }) =>
    withProblems(async (request) => {
      const principal = await management.authenticate(request);
      const { tenant, created } = await tenants.put(principal, routeParam(request, 'name'), () =>
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
  caller: 'management',
  route: 'tenants/{name}',
  handler: ({ management, tenants }) =>
    withProblems(async (request) => {
      const principal = await management.authenticate(request);
      return json(200, await tenants.read(principal, routeParam(request, 'name')));
    }),
});

registerHttp('tenantDelete', {
  methods: ['DELETE'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'tenants/{name}',
  handler: ({ management, tenants }) =>
    withProblems(async (request) => {
      const principal = await management.authenticate(request);
      await tenants.remove(principal, routeParam(request, 'name'));
      return noContent();
    }),
});

registerHttp('tenantCheck', {
  methods: ['POST'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'tenants/{name}/check',
  handler: ({ management, tenantCheck }) =>
    withProblems(async (request) => {
      const principal = await management.authenticate(request);
      const result = await tenantCheck.check(principal, routeParam(request, 'name'), () =>
        readJsonBody(request, checkBodySchema, { optional: true }),
      );
      return json(200, result);
    }),
});
