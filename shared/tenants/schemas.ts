import { z } from 'zod';

/** Tenant names: 1–63 of a-z 0-9 -. */
export const TENANT_NAME_PATTERN = /^[a-z0-9-]{1,63}$/;
/** Environment ids: 1–64 of A-Z a-z 0-9 _ -. */
export const ENVIRONMENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const required =
  (message: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'is required' : message;

const guid = z
  .string({ error: required('must be a GUID') })
  .regex(GUID_PATTERN, { error: 'must be a GUID' })
  .transform((value) => value.toLowerCase());

const httpsUrl = z
  .string({ error: 'must be an https URL' })
  .refine(
    (value) => {
      if (!URL.canParse(value)) return false;
      const url = new URL(value);
      return (
        url.protocol === 'https:' && url.username === '' && url.password === '' && !url.search && !url.hash
      );
    },
    { error: 'must be an https URL' },
  )
  // One spelling per URL, so that comparing and joining paths stays predictable.
  .transform((value) => value.replace(/\/+$/, ''));

export const tenantNameSchema = z.string().regex(TENANT_NAME_PATTERN, { error: 'must be 1–63 of a-z 0-9 -' });
export const environmentIdSchema = z
  .string()
  .regex(ENVIRONMENT_ID_PATTERN, { error: 'must be 1–64 of A-Z a-z 0-9 _ -' });

/** Whether an environment could have this id; one that cannot is an environment that does not exist. */
export function isEnvironmentId(value: string): boolean {
  return ENVIRONMENT_ID_PATTERN.test(value);
}

/**
 * An environment named by an anonymous caller (sign-in, password reset). Any string of a sane
 * length is of the shape: one that cannot be an id names no environment and is answered as any
 * unknown environment is, so the answer never depends on the spelling of a name that does not exist.
 */
export const MAX_ENVIRONMENT_REFERENCE_LENGTH = 256;
export const environmentReferenceSchema = z
  .string({ error: required('must be an environment id') })
  .max(MAX_ENVIRONMENT_REFERENCE_LENGTH, { error: 'must be an environment id' });

export const tenantBodySchema = z.object({
  directoryId: guid,
  clientId: guid,
  clientSecret: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(1024, { error: 'must be at most 1024 characters' })
    .optional(),
  environments: z
    .array(environmentIdSchema, { error: required('must be an array of environment ids') })
    .max(1000, { error: 'must list at most 1000 environments' }),
  authorityHost: httpsUrl.optional(),
  graphBaseUrl: httpsUrl.optional(),
});
export type TenantBody = z.output<typeof tenantBodySchema>;
