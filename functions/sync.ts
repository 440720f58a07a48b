import { registerHttp } from '../shared/host/registry.js';
import { json, parseWith, readJsonBody, routeParam, withProblems } from '../shared/http/respond.js';
import {
  changesQuerySchema,
  DEFAULT_RUNS_LIMIT,
  MAX_RUNS_LIMIT,
  runsQuerySchema,
  syncBodySchema,
} from '../shared/sync/schemas.js';
import { dryRunOf } from '../shared/sync/preview.js';

registerHttp('syncRequest', {
  methods: ['POST'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'environments/{envId}/sync',
  handler: ({ management, sync }) =>
    withProblems(async (request) => {
      const environmentId = routeParam(request, 'envId');
      const principal = await management.authorizeEnvironment(request, environmentId);
      const body = await readJsonBody(request, syncBodySchema, { optional: true });
      const run = await sync.requestSync({
        environmentId,
        trigger: 'manual',
        requestedBy: principal.sub,
        confirmDeactivations: body.confirmDeactivations === true,
        ...dryRunOf(body),
      });
      return json(
        202,
        { runId: run.runId, status: run.status, trigger: run.trigger },
        { location: `/api/environments/${encodeURIComponent(environmentId)}/sync-runs/${run.runId}` },
      );
    }),
});

registerHttp('syncRunsList', {
  methods: ['GET'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'environments/{envId}/sync-runs',
  handler: ({ management, sync }) =>
    withProblems(async (request) => {
      const environmentId = routeParam(request, 'envId');
      await management.authorizeEnvironment(request, environmentId);
      const query = parseWith(runsQuerySchema, { limit: request.query.get('limit') ?? undefined });
      const limit = Math.min(query.limit ?? DEFAULT_RUNS_LIMIT, MAX_RUNS_LIMIT);
      return json(200, { runs: await sync.listSyncRuns(environmentId, limit) });
    }),
});

registerHttp('syncRunGet', {
  methods: ['GET'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'environments/{envId}/sync-runs/{runId}',
  handler: ({ management, sync }) =>
    withProblems(async (request) => {
      const environmentId = routeParam(request, 'envId');
      await management.authorizeEnvironment(request, environmentId);
      return json(200, await sync.getSyncRun(environmentId, routeParam(request, 'runId')));
    }),
});

registerHttp('syncRunChanges', {
  methods: ['GET'],
  authLevel: 'anonymous',
  caller: 'management',
  route: 'environments/{envId}/sync-runs/{runId}/changes',
  handler: ({ management, sync }) =>
    withProblems(async (request) => {
      const environmentId = routeParam(request, 'envId');
      await management.authorizeEnvironment(request, environmentId);
      const query = parseWith(changesQuerySchema, {
        continuationToken: request.query.get('continuationToken') ?? undefined,
      });
      return json(
        200,
        await sync.getRunChanges(environmentId, routeParam(request, 'runId'), query.continuationToken),
      );
    }),
});
