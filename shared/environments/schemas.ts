import { z } from 'zod';

export const environmentBodySchema = z.object({
  name: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(200, { error: 'must be at most 200 characters' }),
  externalUsersIntegration: z.boolean({ error: 'must be true or false' }).optional(),
});
export type EnvironmentBody = z.output<typeof environmentBodySchema>;

/** Any JSON object: the settings are validated field by field (validateSettings), so every bad field is named. */
export const settingsBodySchema = z.record(z.string(), z.unknown(), { error: 'must be a JSON object' });
