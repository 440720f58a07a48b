import type { HttpRequest } from '@azure/functions';
import { authorizeEnvironment } from '../shared/auth/management.js';
import { putSettings, readSettings, settingsBodySchema } from '../shared/environments/service.js';
import { registerHttp } from '../shared/host/registry.js';
import { json, readJsonBody, withProblems } from '../shared/http/respond.js';

const envIdOf = (request: HttpRequest): string => request.params.envId ?? '';

registerHttp('externalUsersPut', {
  methods: ['PUT'],
  authLevel: 'anonymous',
  route: 'environments/{envId}/external-users',
  handler: withProblems(async (request) => {
    const principal = await authorizeEnvironment(request, envIdOf(request));
    const body = await readJsonBody(request, settingsBodySchema);
    return json(200, await putSettings(principal, envIdOf(request), body));
  }),
});

registerHttp('externalUsersGet', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'environments/{envId}/external-users',
  handler: withProblems(async (request) => {
    await authorizeEnvironment(request, envIdOf(request));
    return json(200, await readSettings(envIdOf(request)));
  }),
});
