import { settingsBodySchema } from '../shared/environments/schemas.js';
import { registerEnvironmentManagement } from '../shared/http/management-endpoints.js';
import { json, readJsonBody } from '../shared/http/respond.js';

registerEnvironmentManagement('externalUsersPut', {
  methods: ['PUT'],
  route: 'environments/{envId}/external-users',
  handle: async ({ environments }, request, { environmentId, principal }) => {
    const body = await readJsonBody(request, settingsBodySchema);
    return json(200, await environments.putSettings(principal, environmentId, body));
  },
});

registerEnvironmentManagement('externalUsersGet', {
  methods: ['GET'],
  route: 'environments/{envId}/external-users',
  handle: async ({ environments }, _request, { environmentId }) =>
    json(200, await environments.readSettings(environmentId)),
});
