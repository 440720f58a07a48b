import { z } from 'zod';

export const usersQuerySchema = z.object({ continuationToken: z.string().min(1).max(2048).optional() });

/** Any JSON object: managed fields are looked for before the shape is checked. */
export const userPatchObjectSchema = z.record(z.string(), z.unknown());

/** Keys other than menus are checked by the service first: touching a managed field is a 409. */
export const userPatchSchema = z.looseObject({
  menus: z.array(z.string().trim().min(1).max(200)).max(200).optional(),
});
