import type { Principal } from './auth/policy.js';

/** What a PUT of one resource did: the resource as stored, and whether the PUT created it. */
export interface PutResult<View> {
  readonly value: View;
  readonly created: boolean;
}

/**
 * Creates or replaces the resource named `key`. The body is read only once the caller is known to
 * be allowed, so a caller without the right learns nothing from validation messages.
 */
export type PutResource<Body, View> = (
  principal: Principal,
  key: string,
  readBody: () => Promise<Body>,
) => Promise<PutResult<View>>;
