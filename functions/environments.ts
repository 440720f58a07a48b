import { environmentBodySchema } from '../shared/environments/schemas.js';
import { registerEnvironmentManagement, registerManagementPut } from '../shared/http/management-endpoints.js';
import { json } from '../shared/http/respond.js';

registerManagementPut('environmentPut', {
  route: 'environments/{envId}',
  param: 'envId',
  schema: environmentBodySchema,
  put: ({ environments }) => environments.put,
  location: (environment) => `/api/environments/${encodeURIComponent(environment.id)}`,
});

registerEnvironmentManagement('environmentGet', {
  methods: ['GET'],
  route: 'environments/{envId}',
  handle: async ({ environments }, _request, { environmentId }) =>
    json(200, await environments.read(environmentId)),
});
