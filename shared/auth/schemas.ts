import { z } from 'zod';

export const loginQuerySchema = z.object({
  environment: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an environment id'),
  returnTo: z.string().optional(),
});
