import { registerEnvironmentManagement } from '../shared/http/management-endpoints.js';
import { json, parseQuery, readJsonBody, routeParam } from '../shared/http/respond.js';
import {
  changesQuerySchema,
  DEFAULT_RUNS_LIMIT,
  MAX_RUNS_LIMIT,
  runsQuerySchema,
  syncBodySchema,
} from '../shared/sync/schemas.js';
import { dryRunOf } from '../shared/sync/preview.js';

registerEnvironmentManagement('syncRequest', {
  methods: ['POST'],
  route: 'environments/{envId}/sync',
  handle: async ({ sync }, request, { environmentId, principal }) => {
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
  },
});

registerEnvironmentManagement('syncRunsList', {
  methods: ['GET'],
  route: 'environments/{envId}/sync-runs',
  handle: async ({ sync }, request, { environmentId }) => {
    const query = parseQuery(request, runsQuerySchema, ['limit']);
    const limit = Math.min(query.limit ?? DEFAULT_RUNS_LIMIT, MAX_RUNS_LIMIT);
    return json(200, { runs: await sync.listSyncRuns(environmentId, limit) });
  },
});

registerEnvironmentManagement('syncRunGet', {
  methods: ['GET'],
  route: 'environments/{envId}/sync-runs/{runId}',
  handle: async ({ sync }, request, { environmentId }) =>
    json(200, await sync.getSyncRun(environmentId, routeParam(request, 'runId'))),
});

registerEnvironmentManagement('syncRunChanges', {
  methods: ['GET'],
  route: 'environments/{envId}/sync-runs/{runId}/changes',
  handle: async ({ sync }, request, { environmentId }) => {
    const query = parseQuery(request, changesQuerySchema, ['continuationToken']);
    return json(
      200,
      await sync.getRunChanges(environmentId, routeParam(request, 'runId'), query.continuationToken),
    );
  },
});
