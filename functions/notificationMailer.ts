import { registerStorageQueue } from '../shared/host/registry.js';
import { NOTIFICATION_MAIL_QUEUE } from '../shared/notifications/service.js';

// A failed send throws: the queue delivers the mail again, and after 5 attempts parks it in -poison.
registerStorageQueue('notificationMailer', {
  queueName: NOTIFICATION_MAIL_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler:
    ({ notifications }) =>
    async (message, context) => {
      await notifications.deliver(message, context);
    },
});
