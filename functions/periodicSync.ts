import { registerTimer } from '../shared/host/registry.js';
import { queuePeriodicRuns } from '../shared/sync/service.js';

registerTimer('periodicSync', {
  schedule: '%SYNC_SCHEDULE%',
  handler: () => async (_timer, context) => {
    const result = await queuePeriodicRuns();
    context.info('periodic sync queued', { queued: result.queued.length, skipped: result.skipped.length });
  },
});
