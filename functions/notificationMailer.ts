import { registerServiceQueue } from '../shared/host/registry.js';
import { NOTIFICATION_MAIL_QUEUE } from '../shared/notifications/service.js';

// A failed send throws: the queue delivers the mail again, and after 5 attempts parks it in -poison.
registerServiceQueue(
  'notificationMailer',
  NOTIFICATION_MAIL_QUEUE,
  ({ notifications }) =>
    (message, context) =>
      notifications.deliver(message, context),
);
