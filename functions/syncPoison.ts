import { registerStorageQueue } from '../shared/host/registry.js';
import { defaultSyncService } from '../shared/sync/default-wiring.js';
import { SYNC_POISON_QUEUE } from '../shared/sync/messages.js';

registerStorageQueue('syncPoison', {
  queueName: SYNC_POISON_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: async (entry, context) => {
    await defaultSyncService().failPoisonedRun(entry);
    context.warn('sync message poisoned; its run is marked failed');
  },
});
