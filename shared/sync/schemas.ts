import { z } from 'zod';

/**
 * Strict: a member this request does not know (a preview's `dryRun`, say) is refused rather than
 * ignored, so that a request meant to change nothing can never start a real run.
 */
export const syncBodySchema = z.strictObject({ confirmDeactivations: z.boolean().optional() });
export const runsQuerySchema = z.object({ limit: z.coerce.number().int().min(1).optional() });
export const changesQuerySchema = z.object({ continuationToken: z.string().min(1).max(16).optional() });

export const DEFAULT_RUNS_LIMIT = 20;
export const MAX_RUNS_LIMIT = 100;
