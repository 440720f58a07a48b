import { z } from 'zod';

/**
 * Strict: a member this request does not know is refused rather than ignored, so that a request
 * meant to change nothing can never start a real run. `tenant` and `groupsToSync` of a dry run are
 * validated like the settings (validatePreview).
 */
export const syncBodySchema = z.strictObject({
  confirmDeactivations: z.boolean({ error: 'must be true or false' }).optional(),
  dryRun: z.boolean({ error: 'must be true or false' }).optional(),
  tenant: z.unknown().optional(),
  groupsToSync: z.unknown().optional(),
});
export type SyncBody = z.output<typeof syncBodySchema>;
export const runsQuerySchema = z.object({ limit: z.coerce.number().int().min(1).optional() });
export const changesQuerySchema = z.object({ continuationToken: z.string().min(1).max(16).optional() });

export const DEFAULT_RUNS_LIMIT = 20;
export const MAX_RUNS_LIMIT = 100;
