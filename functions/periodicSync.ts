import { registerTimer } from '../shared/host/registry.js';
import { defaultSyncService } from '../shared/sync/default-wiring.js';

registerTimer('periodicSync', {
  schedule: '%SYNC_SCHEDULE%',
  handler: async (_timer, context) => {
    const result = await defaultSyncService().queuePeriodicRuns();
    context.info('periodic sync queued', { queued: result.queued.length, skipped: result.skipped.length });
  },
});
