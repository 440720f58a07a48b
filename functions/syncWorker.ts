import { registerServiceQueue } from '../shared/host/registry.js';
import { parseSyncMessage, SYNC_QUEUE } from '../shared/sync/messages.js';

registerServiceQueue('syncWorker', SYNC_QUEUE, ({ sync }) => async (entry, context) => {
  const message = parseSyncMessage(entry);
  const outcome = await sync.executeSyncRun(message, {
    log: (text, data) => context.info(text, data),
  });
  // Operators find halted and failed runs by these fields (docs/operations.md).
  context.info('sync message handled', {
    outcome,
    runId: message.runId,
    environment: message.environmentId,
  });
});
