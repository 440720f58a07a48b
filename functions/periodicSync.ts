import { registerTimer } from '../shared/host/registry.js';

registerTimer('periodicSync', {
  schedule: '%SYNC_SCHEDULE%',
  handler:
    ({ sync }) =>
    async (_timer, context) => {
      const result = await sync.queuePeriodicRuns();
      context.info('periodic sync queued', { queued: result.queued.length, skipped: result.skipped.length });
    },
});
