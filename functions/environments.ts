import { environmentBodySchema } from '../shared/environments/schemas.js';
import { registerHttp } from '../shared/host/registry.js';
import { json, readJsonBody, routeParam, withProblems } from '../shared/http/respond.js';

registerHttp('environmentPut', {
  methods: ['PUT'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'environments/{envId}',
  handler: ({ management, environments }) =>
    withProblems(async (request) => {
      const principal = await management.authenticate(request);
      const { environment, created } = await environments.put(principal, routeParam(request, 'envId'), () =>
        readJsonBody(request, environmentBodySchema),
      );
      return created
        ? json(201, environment, { location: `/api/environments/${encodeURIComponent(environment.id)}` })
        : json(200, environment);
    }),
});

registerHttp('environmentGet', {
  methods: ['GET'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'environments/{envId}',
  handler: ({ management, environments }) =>
    withProblems(async (request) => {
      const environmentId = routeParam(request, 'envId');
      await management.authorizeEnvironment(request, environmentId);
      return json(200, await environments.read(environmentId));
    }),
});
