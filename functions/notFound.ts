import { AppError } from '../shared/errors.js';
import { API_ROUTE_PREFIX, httpRegistrations, registerHttp } from '../shared/host/registry.js';
import { compileRoute } from '../shared/host/routes.js';
import { problemResponse } from '../shared/http/problem.js';
import { routeParam, withProblems } from '../shared/http/respond.js';

const NOT_FOUND_NAME = 'notFound';
const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * The methods other functions accept on `path` (relative to `/api/`). Read at request time so that
 * functions registered after this one count too.
 */
function allowedMethods(path: string): string[] {
  const fullPath = `${API_ROUTE_PREFIX}${path}`;
  const methods = new Set<string>();
  for (const registration of httpRegistrations()) {
    if (registration.name === NOT_FOUND_NAME) continue;
    const { route, methods: accepted } = registration.options;
    if (route === undefined || !compileRoute(route, [], null).match(fullPath)) continue;
    for (const method of accepted ?? ALL_METHODS) methods.add(method.toUpperCase());
  }
  return [...methods].sort();
}

/**
 * Every /api request no other function takes: the Functions host (and the local host) route the
 * most specific template first, so this catch-all only sees unknown routes and known routes
 * called with a method they do not accept.
 */
registerHttp(NOT_FOUND_NAME, {
  methods: [...ALL_METHODS],
  authLevel: 'anonymous',
  route: '{*path}',
  handler: () =>
    withProblems((request) => {
      const path = routeParam(request, 'path');
      const allowed = allowedMethods(path);
      if (allowed.length > 0) {
        const response = problemResponse(
          new AppError(
            'method-not-allowed',
            `${request.method} is not allowed here; use ${allowed.join(', ')}.`,
          ),
        );
        const headers = { ...(response.headers as Record<string, string>), allow: allowed.join(', ') };
        return Promise.resolve({ ...response, headers });
      }
      throw new AppError('not-found', `No API route matches ${new URL(request.url).pathname}.`);
    }),
});
