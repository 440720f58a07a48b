import type { HttpRequest } from '@azure/functions';
import { authenticate, authorizeEnvironment } from '../shared/auth/management.js';
import { environmentBodySchema, putEnvironment, readEnvironment } from '../shared/environments/service.js';
import { registerHttp } from '../shared/host/registry.js';
import { json, readJsonBody, withProblems } from '../shared/http/respond.js';

const envIdOf = (request: HttpRequest): string => request.params.envId ?? '';

registerHttp('environmentPut', {
  methods: ['PUT'],
  authLevel: 'anonymous',
  route: 'environments/{envId}',
  handler: withProblems(async (request) => {
    const principal = await authenticate(request);
    const { environment, created } = await putEnvironment(principal, envIdOf(request), () =>
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
  route: 'environments/{envId}',
  handler: withProblems(async (request) => {
    await authorizeEnvironment(request, envIdOf(request));
    return json(200, await readEnvironment(envIdOf(request)));
  }),
});
