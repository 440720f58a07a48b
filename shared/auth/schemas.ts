import { z } from 'zod';
import { environmentReferenceSchema } from '../tenants/schemas.js';

export const loginQuerySchema = z.object({
  environment: environmentReferenceSchema,
  returnTo: z.string().optional(),
});
