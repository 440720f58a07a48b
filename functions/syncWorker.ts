import { registerStorageQueue } from '../shared/host/registry.js';
import {
  executeSyncRun,
  parseSyncMessage,
  setAccessDeactivatedHandler,
  SYNC_QUEUE,
} from '../shared/sync/service.js';

registerStorageQueue('syncWorker', {
  queueName: SYNC_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: ({ sessions }) => {
    // Sessions die with access: the sync's deactivations end the users' sessions in that environment.
    setAccessDeactivatedHandler(sessions.revokeUsers);
    return async (entry, context) => {
      const message = parseSyncMessage(entry);
      const outcome = await executeSyncRun(message, {
        log: (text, data) => context.info(text, data),
      });
      // Operators find halted and failed runs by these fields (docs/operations.md).
      context.info('sync message handled', {
        outcome,
        runId: message.runId,
        environment: message.environmentId,
      });
    };
  },
});
