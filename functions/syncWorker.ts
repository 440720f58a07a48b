import { registerStorageQueue } from '../shared/host/registry.js';
import { executeSyncRun, SYNC_QUEUE } from '../shared/sync/service.js';

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
