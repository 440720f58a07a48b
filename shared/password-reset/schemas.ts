import { z } from 'zod';
import { environmentIdSchema, environmentReferenceSchema } from '../tenants/schemas.js';

export const passwordResetBodySchema = z.object({
  email: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be an email address') })
    .trim()
    .max(320, { error: 'must be an email address' })
    .regex(/^[^\s@]+@[^\s@]+$/, { error: 'must be an email address' }),
  environment: environmentReferenceSchema,
});
export type PasswordResetRequest = z.output<typeof passwordResetBodySchema>;

/** Only requests naming an environment that could exist are queued. */
export const passwordResetMessageSchema = passwordResetBodySchema.extend({
  environment: environmentIdSchema,
  requestedAt: z.string(),
});
export type PasswordResetMessage = z.output<typeof passwordResetMessageSchema>;
