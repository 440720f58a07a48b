import { registerStorageQueue } from '../shared/host/registry.js';
import { SYNC_POISON_QUEUE } from '../shared/sync/messages.js';

registerStorageQueue('syncPoison', {
  queueName: SYNC_POISON_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler:
    ({ sync }) =>
    async (entry, context) => {
      await sync.failPoisonedRun(entry);
      context.warn('sync message poisoned; its run is marked failed');
    },
});
