import type { Core } from './core.js';
import { DirectoryAdminError } from './records.js';
import type { ManagementRole } from './types.js';

/**
 * The staff identity provider's state: its registered public clients, the sign-ins waiting on the
 * authorize page, and the codes issued but not yet redeemed.
 */

export interface ManagementClientSpec {
  readonly clientId: string;
  /** Exact-match redirect URIs, as Entra compares them. */
  readonly redirectUris: readonly string[];
}

export const CODE_LIFETIME_MS = 5 * 60 * 1000;
export const LOGIN_LIFETIME_MS = 30 * 60 * 1000;
export const TOKEN_SECONDS = 3600;

export interface PendingLogin {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly state: string | undefined;
  readonly nonce: string | undefined;
  readonly scopes: readonly string[];
  readonly codeChallenge: string;
  readonly expiresAt: number;
}

export interface IssuedCode {
  readonly login: PendingLogin;
  readonly sub: string;
  readonly roles: readonly ManagementRole[];
  readonly environments: readonly string[] | undefined;
  readonly expiresAt: number;
}

export interface ManagementState {
  readonly clients: Map<string, Set<string>>;
  readonly logins: Map<string, PendingLogin>;
  readonly codes: Map<string, IssuedCode>;
}

/** Kept beside the core rather than in it: only this part of the directory uses it. */
const states = new WeakMap<Core, ManagementState>();

export function stateOf(core: Core): ManagementState {
  let state = states.get(core);
  if (state === undefined) {
    state = { clients: new Map(), logins: new Map(), codes: new Map() };
    states.set(core, state);
  }
  return state;
}

/** Registers (or extends) a public client and its redirect URIs. */
export function registerManagementClient(core: Core, spec: ManagementClientSpec): ManagementClientSpec {
  if (typeof spec.clientId !== 'string' || spec.clientId === '' || !Array.isArray(spec.redirectUris)) {
    throw new DirectoryAdminError(400, 'clientId and redirectUris are required');
  }
  // Arrives as JSON over the admin API: checked item by item.
  const given: readonly unknown[] = spec.redirectUris;
  const { clients } = stateOf(core);
  const uris = clients.get(spec.clientId) ?? new Set<string>();
  for (const uri of given) {
    if (typeof uri !== 'string' || !URL.canParse(uri)) {
      throw new DirectoryAdminError(400, `redirect URI '${String(uri)}' is not a URL`);
    }
    uris.add(uri);
  }
  clients.set(spec.clientId, uris);
  return { clientId: spec.clientId, redirectUris: [...uris] };
}

export function sweep(state: ManagementState, now: number): void {
  for (const [id, login] of state.logins) if (login.expiresAt < now) state.logins.delete(id);
  for (const [code, issued] of state.codes) if (issued.expiresAt < now) state.codes.delete(code);
}

/** Discovery and keys are public documents: any origin may read them. */
export const PUBLIC_CORS = { 'access-control-allow-origin': '*' } as const;

/** The token endpoint answers the browser of a registered client's origin only. */
export function tokenCors(state: ManagementState, origin: string | undefined): Record<string, string> {
  if (origin === undefined) return {};
  for (const uris of state.clients.values()) {
    for (const uri of uris) {
      if (new URL(uri).origin === origin) return { 'access-control-allow-origin': origin, vary: 'Origin' };
    }
  }
  return { vary: 'Origin' };
}
