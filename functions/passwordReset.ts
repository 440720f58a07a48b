import { registerHttp, registerStorageQueue } from '../shared/host/registry.js';
import { json, readJsonBody, withProblems } from '../shared/http/respond.js';
import {
  PASSWORD_RESET_QUEUE,
  passwordResetBodySchema,
  processPasswordReset,
  requestPasswordReset,
} from '../shared/password-reset/service.js';

registerHttp('passwordReset', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'password-reset',
  handler: withProblems(async (request) => {
    await requestPasswordReset(
      await readJsonBody(request, passwordResetBodySchema, { anyContentType: true }),
    );
    return json(202, { status: 'accepted' });
  }),
});

registerStorageQueue('passwordResetMailer', {
  queueName: PASSWORD_RESET_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: async (message, context) => {
    await processPasswordReset(message, context);
  },
});
