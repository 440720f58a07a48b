import { z } from 'zod';
import { authorizeEnvironment } from '../shared/auth/management.js';
import { registerHttp } from '../shared/host/registry.js';
import { json, parseWith, readJsonBody, withProblems, routeParam } from '../shared/http/respond.js';
import { defaultSyncService } from '../shared/sync/default-wiring.js';

const syncBody = z.object({ confirmDeactivations: z.boolean().optional() });
const runsQuery = z.object({
  limit: z.coerce.number().int().min(1).optional(),
});
const changesQuery = z.object({ continuationToken: z.string().min(1).max(16).optional() });

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

registerHttp('syncRequest', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'environments/{envId}/sync',
  handler: withProblems(async (request) => {
    const environmentId = routeParam(request, 'envId');
    const principal = await authorizeEnvironment(request, environmentId);
    const body = await readJsonBody(request, syncBody, { optional: true });
    const run = await defaultSyncService().requestSync({
      environmentId,
      trigger: 'manual',
      requestedBy: principal.sub,
      confirmDeactivations: body.confirmDeactivations === true,
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
  route: 'environments/{envId}/sync-runs',
  handler: withProblems(async (request) => {
    const environmentId = routeParam(request, 'envId');
    await authorizeEnvironment(request, environmentId);
    const query = parseWith(runsQuery, { limit: request.query.get('limit') ?? undefined });
    const limit = Math.min(query.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
    return json(200, { runs: await defaultSyncService().listSyncRuns(environmentId, limit) });
  }),
});

registerHttp('syncRunGet', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'environments/{envId}/sync-runs/{runId}',
  handler: withProblems(async (request) => {
    const environmentId = routeParam(request, 'envId');
    await authorizeEnvironment(request, environmentId);
    return json(200, await defaultSyncService().getSyncRun(environmentId, routeParam(request, 'runId')));
  }),
});

registerHttp('syncRunChanges', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'environments/{envId}/sync-runs/{runId}/changes',
  handler: withProblems(async (request) => {
    const environmentId = routeParam(request, 'envId');
    await authorizeEnvironment(request, environmentId);
    const query = parseWith(changesQuery, {
      continuationToken: request.query.get('continuationToken') ?? undefined,
    });
    return json(
      200,
      await defaultSyncService().getRunChanges(
        environmentId,
        routeParam(request, 'runId'),
        query.continuationToken,
      ),
    );
  }),
});
