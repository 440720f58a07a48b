import { registerHttp } from '../shared/host/registry.js';
import { json, parseWith, readJsonBody, routeParam, withProblems } from '../shared/http/respond.js';
import { usersQuerySchema, userPatchObjectSchema, userPatchSchema } from '../shared/users/schemas.js';
import { managedFieldsIn } from '../shared/users/service.js';

registerHttp('usersList', {
  methods: ['GET'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'environments/{envId}/users',
  handler: ({ management, users }) =>
    withProblems(async (request) => {
      const environmentId = routeParam(request, 'envId');
      await management.authorizeEnvironment(request, environmentId);
      const query = parseWith(usersQuerySchema, {
        continuationToken: request.query.get('continuationToken') ?? undefined,
      });
      return json(200, await users.listUsers(environmentId, query.continuationToken));
    }),
});

registerHttp('usersItem', {
  methods: ['GET', 'PATCH'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'environments/{envId}/users/{userId}',
  handler: ({ management, users }) =>
    withProblems(async (request) => {
      const environmentId = routeParam(request, 'envId');
      const userId = routeParam(request, 'userId');
      await management.authorizeEnvironment(request, environmentId);
      if (request.method === 'GET') return json(200, await users.getUser(environmentId, userId));
      const raw = await readJsonBody(request, userPatchObjectSchema);
      const menus = managedFieldsIn(raw).length > 0 ? undefined : parseWith(userPatchSchema, raw).menus;
      return json(200, await users.patchUser(environmentId, userId, raw, menus));
    }),
});
