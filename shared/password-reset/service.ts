import type { InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { clock } from '../clock.js';
import { getEnvironment } from '../environments/repository.js';
import { AppError } from '../errors.js';
import { mailer } from '../mail/mailer.js';
import { storage } from '../storage/account.js';
import { findActiveUsersByEmail } from '../users/repository.js';
import { passwordResetMail } from './message.js';
import { addressKey, takeMailSlot } from './rate-limit.js';

/**
 * Password reset. The HTTP request only validates the shape and queues the
 * request, the same work whoever the address belongs to, so neither the answer nor its timing
 * tells whether the address exists. The queue worker decides whether a mail goes out.
 */
export const PASSWORD_RESET_QUEUE = 'password-reset';

export const passwordResetBodySchema = z.object({
  email: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be an email address') })
    .trim()
    .max(320, { error: 'must be an email address' })
    .regex(/^[^\s@]+@[^\s@]+$/, { error: 'must be an email address' }),
  environment: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be an environment id') })
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be an environment id' }),
});
export type PasswordResetRequest = z.output<typeof passwordResetBodySchema>;

export const passwordResetMessageSchema = passwordResetBodySchema.extend({ requestedAt: z.string() });
export type PasswordResetMessage = z.output<typeof passwordResetMessageSchema>;

export async function requestPasswordReset(request: PasswordResetRequest): Promise<void> {
  const message: PasswordResetMessage = { ...request, requestedAt: clock().now().toISOString() };
  const queue = await storage().queue(PASSWORD_RESET_QUEUE);
  try {
    // Base64, as the Functions queue trigger expects by default.
    await queue.sendMessage(Buffer.from(JSON.stringify(message), 'utf8').toString('base64'));
  } catch (error) {
    throw new AppError('storage-unavailable', 'The request could not be queued.', { cause: error });
  }
}

export type PasswordResetOutcome =
  'sent' | 'no-active-user' | 'rate-limited' | 'unknown-environment' | 'expired' | 'malformed';

/** Requests older than this are dropped rather than mailed late. */
const MAX_AGE_MS = 60 * 60 * 1000;

export async function processPasswordReset(
  payload: unknown,
  context: InvocationContext,
): Promise<PasswordResetOutcome> {
  const message = passwordResetMessageSchema.safeParse(payload);
  if (!message.success) {
    // A malformed message can never succeed; retrying it would only delay the poison queue.
    context.warn('password reset: malformed queue message dropped');
    return 'malformed';
  }
  const { email, environment, requestedAt } = message.data;
  // The log names the address only by its hash.
  const log = { address: addressKey(email).slice(0, 16), environment };
  const now = clock().now();
  if (now.getTime() - Date.parse(requestedAt) > MAX_AGE_MS) {
    context.warn('password reset: request too old, dropped', log);
    return 'expired';
  }
  const environmentRecord = await getEnvironment(environment);
  if (!environmentRecord) {
    context.log('password reset: unknown environment', log);
    return 'unknown-environment';
  }
  const users = await findActiveUsersByEmail(environment, email);
  if (users.length === 0) {
    context.log('password reset: no external user with active access', log);
    return 'no-active-user';
  }
  if (!(await takeMailSlot(email, now))) {
    context.warn('password reset: mail limit reached', log);
    return 'rate-limited';
  }
  // Mail goes to the address on record, not to the spelling the requester typed.
  const to = users[0]?.email ?? email;
  await mailer().send(passwordResetMail({ to, environmentName: environmentRecord.name }));
  context.log('password reset: mail sent', log);
  return 'sent';
}
