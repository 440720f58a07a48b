import { z } from 'zod';

export const syncBodySchema = z.object({ confirmDeactivations: z.boolean().optional() });
export const runsQuerySchema = z.object({ limit: z.coerce.number().int().min(1).optional() });
export const changesQuerySchema = z.object({ continuationToken: z.string().min(1).max(16).optional() });

export const DEFAULT_RUNS_LIMIT = 20;
export const MAX_RUNS_LIMIT = 100;
