import { registerStorageQueue } from '../shared/host/registry.js';
import { executeSyncRun, setAccessDeactivatedHandler, SYNC_QUEUE } from '../shared/sync/service.js';
import { revokeSessionsOfUsers } from '../shared/auth/sessions.js';

// Sessions die with access: the sync's deactivations end the users' sessions in that environment.
setAccessDeactivatedHandler(revokeSessionsOfUsers);

registerStorageQueue('syncWorker', {
  queueName: SYNC_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: async (entry, context) => {
    const outcome = await executeSyncRun(entry, {
      log: (message, data) => context.info(message, data),
    });
    context.info('sync message handled', { outcome });
  },
});
