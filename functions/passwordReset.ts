import { registerHttp, registerServiceQueue } from '../shared/host/registry.js';
import { json, readJsonBody, withProblems } from '../shared/http/respond.js';
import { passwordResetBodySchema } from '../shared/password-reset/schemas.js';
import { PASSWORD_RESET_QUEUE } from '../shared/password-reset/service.js';
import { clientAddressOf } from '../shared/throttle/limiter.js';

registerHttp('passwordReset', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'password-reset',
  handler: ({ passwordReset }) =>
    withProblems(async (request, context) => {
      await passwordReset.request(
        await readJsonBody(request, passwordResetBodySchema, { anyContentType: true }),
        clientAddressOf(request.headers.get('x-forwarded-for')),
        context,
      );
      return json(202, { status: 'accepted' });
    }),
});

registerServiceQueue(
  'passwordResetMailer',
  PASSWORD_RESET_QUEUE,
  ({ passwordReset }) =>
    (message, context) =>
      passwordReset.process(message, context),
);
