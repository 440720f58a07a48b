import { settingsBodySchema } from '../shared/environments/schemas.js';
import { registerHttp } from '../shared/host/registry.js';
import { json, readJsonBody, routeParam, withProblems } from '../shared/http/respond.js';

registerHttp('externalUsersPut', {
  methods: ['PUT'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'environments/{envId}/external-users',
  handler: ({ management, environments }) =>
    withProblems(async (request) => {
      const environmentId = routeParam(request, 'envId');
      const principal = await management.authorizeEnvironment(request, environmentId);
      const body = await readJsonBody(request, settingsBodySchema);
      return json(200, await environments.putSettings(principal, environmentId, body));
    }),
});

registerHttp('externalUsersGet', {
  methods: ['GET'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'environments/{envId}/external-users',
  handler: ({ management, environments }) =>
    withProblems(async (request) => {
      const environmentId = routeParam(request, 'envId');
      await management.authorizeEnvironment(request, environmentId);
      return json(200, await environments.readSettings(environmentId));
    }),
});
