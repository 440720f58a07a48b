import { z } from 'zod';
import { authorizeEnvironment } from '../shared/auth/management.js';
import { registerHttp } from '../shared/host/registry.js';
import { json, parseWith, readJsonBody, withProblems, routeParam } from '../shared/http/respond.js';
import { defaultUsersService } from '../shared/sync/default-wiring.js';
import { managedFieldsIn } from '../shared/users/service.js';

const listQuery = z.object({ continuationToken: z.string().min(1).max(2048).optional() });

/** Keys other than menus are checked by the service first: touching a managed field is a 409. */
const patchBody = z.looseObject({
  menus: z.array(z.string().trim().min(1).max(200)).max(200).optional(),
});

registerHttp('usersList', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'environments/{envId}/users',
  handler: withProblems(async (request) => {
    const environmentId = routeParam(request, 'envId');
    await authorizeEnvironment(request, environmentId);
    const query = parseWith(listQuery, {
      continuationToken: request.query.get('continuationToken') ?? undefined,
    });
    return json(200, await defaultUsersService().listUsers(environmentId, query.continuationToken));
  }),
});

registerHttp('usersItem', {
  methods: ['GET', 'PATCH'],
  authLevel: 'anonymous',
  route: 'environments/{envId}/users/{userId}',
  handler: withProblems(async (request) => {
    const environmentId = routeParam(request, 'envId');
    const userId = routeParam(request, 'userId');
    await authorizeEnvironment(request, environmentId);
    if (request.method === 'GET')
      return json(200, await defaultUsersService().getUser(environmentId, userId));
    const raw = await readJsonBody(request, z.record(z.string(), z.unknown()));
    const menus = managedFieldsIn(raw).length > 0 ? undefined : parseWith(patchBody, raw).menus;
    return json(200, await defaultUsersService().patchUser(environmentId, userId, raw, menus));
  }),
});
