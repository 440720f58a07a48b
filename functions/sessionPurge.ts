import type { InvocationContext } from '@azure/functions';
import { registerTimer } from '../shared/host/registry.js';

registerTimer('sessionPurge', {
  // Hourly: an expired session is already refused on use; the purge only keeps the table small.
  schedule: '0 7 * * * *',
  handler:
    ({ sessions }) =>
    async (_timer: unknown, context: InvocationContext) => {
      context.info('expired sessions purged', await sessions.purgeExpired());
    },
});
