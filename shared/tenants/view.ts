/**
 * A tenant as the management API shows it. The console reads the same shape, so this file imports
 * nothing: the browser build type-checks it with the DOM library only.
 */

/** A tenant's health as the API shows it: what its last run or check found. */
export interface TenantHealthView {
  readonly state: 'ok' | 'failing' | 'unknown';
  readonly checkedAt?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

/** The API's view of a tenant: everything but the secret. */
export interface TenantView {
  readonly name: string;
  readonly directoryId: string;
  readonly clientId: string;
  readonly environments: readonly string[];
  readonly authorityHost: string;
  readonly graphBaseUrl: string;
  readonly owner: string;
  readonly hasClientSecret: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  /**
   * Health as the last run or check found it; failing whatever they found while the stored hosts
   * break the host policy, since such a tenant is never used.
   */
  readonly status: TenantHealthView;
}
