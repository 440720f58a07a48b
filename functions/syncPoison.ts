import { registerStorageQueue } from '../shared/host/registry.js';
import { failPoisonedRun, SYNC_POISON_QUEUE } from '../shared/sync/service.js';

registerStorageQueue('syncPoison', {
  queueName: SYNC_POISON_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: () => async (entry, context) => {
    await failPoisonedRun(entry);
    context.warn('sync message poisoned; its run is marked failed');
  },
});
