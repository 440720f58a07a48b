import type { HttpMethod, HttpRequest, HttpResponseInit } from '@azure/functions';
import type { z } from 'zod';
import type { Services } from '../app/services.js';
import type { Principal } from '../auth/policy.js';
import { registerHttp } from '../host/registry.js';
import type { PutResource } from '../put.js';
import { putAnswer, readJsonBody, routeParam, withProblems } from './respond.js';

export interface ManagementEndpoint<Caller> {
  readonly methods: readonly HttpMethod[];
  readonly route: string;
  readonly handle: (services: Services, request: HttpRequest, caller: Caller) => Promise<HttpResponseInit>;
}

/** The caller of an endpoint under `environments/{envId}`, already allowed on that environment. */
export interface EnvironmentCaller {
  readonly environmentId: string;
  readonly principal: Principal;
}

function register<Caller>(
  name: string,
  endpoint: ManagementEndpoint<Caller>,
  callerOf: (services: Services, request: HttpRequest) => Promise<Caller>,
): void {
  registerHttp(name, {
    methods: [...endpoint.methods],
    authLevel: 'anonymous',
    caller: 'management',
    route: endpoint.route,
    handler: (services) =>
      withProblems(async (request) => endpoint.handle(services, request, await callerOf(services, request))),
  });
}

/**
 * Registers a management API endpoint: the bearer token is checked before the handler reads
 * anything of the request, so a caller without the right learns nothing from validation.
 */
export function registerManagement(name: string, endpoint: ManagementEndpoint<Principal>): void {
  register(name, endpoint, ({ management }, request) => management.authenticate(request));
}

/** Registers a management endpoint of one environment (`{envId}` in its route). */
export function registerEnvironmentManagement(
  name: string,
  endpoint: ManagementEndpoint<EnvironmentCaller>,
): void {
  register(name, endpoint, async ({ management }, request) => {
    const environmentId = routeParam(request, 'envId');
    return { environmentId, principal: await management.authorizeEnvironment(request, environmentId) };
  });
}

/** A management PUT that creates or replaces one resource, named by the route parameter `param`. */
export interface PutEndpoint<S extends z.ZodType, View> {
  readonly route: string;
  readonly param: string;
  readonly schema: S;
  readonly put: (services: Services) => PutResource<z.output<S>, View>;
  /** The resource's URL, sent as `Location` when the PUT created it. */
  readonly location: (view: View) => string;
}

/** Registers a management PUT: 201 with `Location` when it created the resource, else 200. */
export function registerManagementPut<S extends z.ZodType, View>(
  name: string,
  endpoint: PutEndpoint<S, View>,
): void {
  registerManagement(name, {
    methods: ['PUT'],
    route: endpoint.route,
    handle: async (services, request, principal) => {
      const { value, created } = await endpoint.put(services)(
        principal,
        routeParam(request, endpoint.param),
        () => readJsonBody(request, endpoint.schema),
      );
      return putAnswer(created, value, endpoint.location(value));
    },
  });
}
