import { environmentBodySchema } from '../shared/environments/schemas.js';
import { registerEnvironmentManagement, registerManagement } from '../shared/http/management-endpoints.js';
import { json, putAnswer, readJsonBody, routeParam } from '../shared/http/respond.js';

registerManagement('environmentPut', {
  methods: ['PUT'],
  route: 'environments/{envId}',
  handle: async ({ environments }, request, principal) => {
    const { environment, created } = await environments.put(principal, routeParam(request, 'envId'), () =>
      readJsonBody(request, environmentBodySchema),
    );
    return putAnswer(created, environment, `/api/environments/${encodeURIComponent(environment.id)}`);
  },
});

registerEnvironmentManagement('environmentGet', {
  methods: ['GET'],
  route: 'environments/{envId}',
  handle: async ({ environments }, _request, { environmentId }) =>
    json(200, await environments.read(environmentId)),
});
