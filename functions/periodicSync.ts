import { registerTimer } from '../shared/host/registry.js';

registerTimer('periodicSync', {
  schedule: '%SYNC_SCHEDULE%',
  handler:
    ({ sync }) =>
    async (timer, context) => {
      // The host's schedule monitor reports a status on scheduled ticks only (its typings say always);
      // a tick run through the admin endpoint has none and is a tick of its own.
      const { scheduleStatus } = timer as Partial<typeof timer>;
      const result = await sync.queuePeriodicRuns({
        onSchedule: scheduleStatus !== undefined && scheduleStatus !== null,
      });
      context.info('periodic sync queued', { queued: result.queued.length, skipped: result.skipped.length });
    },
});
