import { z } from 'zod';

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
