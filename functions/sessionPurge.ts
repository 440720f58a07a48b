import type { InvocationContext } from '@azure/functions';
import { clock } from '../shared/clock.js';
import { registerTimer } from '../shared/host/registry.js';
import { purgeExpiredSessions } from '../shared/auth/sessions.js';

registerTimer('sessionPurge', {
  // Hourly: an expired session is already refused on use; the purge only keeps the table small.
  schedule: '0 7 * * * *',
  handler: async (_timer: unknown, context: InvocationContext) => {
    const purged = await purgeExpiredSessions(clock().now());
    context.info('expired sessions purged', purged);
  },
});
