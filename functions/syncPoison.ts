import { registerServiceQueue } from '../shared/host/registry.js';
import { SYNC_POISON_QUEUE } from '../shared/sync/messages.js';

registerServiceQueue('syncPoison', SYNC_POISON_QUEUE, ({ sync }) => async (entry, context) => {
  await sync.failPoisonedRun(entry);
  context.warn('sync message poisoned; its run is marked failed');
});
