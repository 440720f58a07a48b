import { splitList } from './settings-form.js';
import { formatDateTime } from './runs.js';
import type { TenantHealthView } from '../../../shared/tenants/view.js';

export type { TenantView } from '../../../shared/tenants/view.js';

export interface TenantForm {
  readonly name: string;
  readonly directoryId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly environments: string;
  readonly authorityHost: string;
  readonly graphBaseUrl: string;
}

export interface CheckResult {
  readonly ok: boolean;
  readonly token: {
    readonly ok: boolean;
    readonly error?: { readonly code: string; readonly message: string };
  };
  readonly groups: readonly {
    readonly id: string;
    readonly ok: boolean;
    readonly displayName?: string;
    readonly error?: { readonly code: string; readonly message: string };
  }[];
}

/**
 * The PUT body: the secret only when one was typed (it is write-only, so an empty field keeps the
 * stored one), and the optional hosts only when given.
 */
export function toTenantBody(form: TenantForm): Record<string, unknown> {
  const body: Record<string, unknown> = {
    directoryId: form.directoryId.trim(),
    clientId: form.clientId.trim(),
    environments: splitList(form.environments),
  };
  if (form.clientSecret !== '') body.clientSecret = form.clientSecret;
  if (form.authorityHost.trim() !== '') body.authorityHost = form.authorityHost.trim();
  if (form.graphBaseUrl.trim() !== '') body.graphBaseUrl = form.graphBaseUrl.trim();
  return body;
}

export function healthText(status: TenantHealthView | undefined, locale?: string): string {
  if (status === undefined || status.state === 'unknown') return 'Unknown (not used yet)';
  const when = status.checkedAt === undefined ? '' : ` (checked ${formatDateTime(status.checkedAt, locale)})`;
  if (status.state === 'ok') return `OK${when}`;
  return `Failing: ${status.error?.message ?? status.error?.code ?? 'unknown error'}${when}`;
}
