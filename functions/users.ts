import { registerEnvironmentManagement } from '../shared/http/management-endpoints.js';
import { json, parseQuery, parseWith, readJsonBody, routeParam } from '../shared/http/respond.js';
import { usersQuerySchema, userPatchObjectSchema, userPatchSchema } from '../shared/users/schemas.js';
import { managedFieldsIn } from '../shared/users/service.js';

registerEnvironmentManagement('usersList', {
  methods: ['GET'],
  route: 'environments/{envId}/users',
  handle: async ({ users }, request, { environmentId }) => {
    const query = parseQuery(request, usersQuerySchema, ['continuationToken']);
    return json(200, await users.listUsers(environmentId, query.continuationToken));
  },
});

registerEnvironmentManagement('usersItem', {
  methods: ['GET', 'PATCH'],
  route: 'environments/{envId}/users/{userId}',
  handle: async ({ users }, request, { environmentId }) => {
    const userId = routeParam(request, 'userId');
    if (request.method === 'GET') return json(200, await users.getUser(environmentId, userId));
    const raw = await readJsonBody(request, userPatchObjectSchema);
    const menus = managedFieldsIn(raw).length > 0 ? undefined : parseWith(userPatchSchema, raw).menus;
    return json(200, await users.patchUser(environmentId, userId, raw, menus));
  },
});
