/** Who is signed in, as far as the console needs to know to show the right screens. */
export type Role = 'platform-operator' | 'partner' | 'environment-admin';

export interface Principal {
  readonly sub: string;
  readonly name: string;
  readonly roles: readonly Role[];
  /** The environments an environment admin administers. */
  readonly environments: readonly string[];
}

const ROLES: readonly Role[] = ['platform-operator', 'partner', 'environment-admin'];

export const ROLE_LABELS: Readonly<Record<Role, string>> = {
  'platform-operator': 'Platform operator',
  partner: 'Partner',
  'environment-admin': 'Environment admin',
};

/** The claims of a JWT, undecoded by signature: the API checks the token, the console only adapts its screens. */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (payload === undefined) return {};
  const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
  try {
    const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch (error) {
    if (error instanceof SyntaxError || (error instanceof Error && error.name === 'InvalidCharacterError'))
      return {};
    throw error;
  }
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Roles and environments as the API reads them (`roles`, `environments` of the access token),
 * with the display name from the ID token where it has one.
 */
export function toPrincipal(
  accessClaims: Record<string, unknown>,
  idClaims: Record<string, unknown> = {},
): Principal {
  const roles = strings(accessClaims.roles).filter((r): r is Role =>
    (ROLES as readonly string[]).includes(r),
  );
  const sub = typeof accessClaims.sub === 'string' ? accessClaims.sub : '';
  const name = [idClaims.name, idClaims.preferred_username, accessClaims.name, sub].find(
    (v): v is string => typeof v === 'string' && v !== '',
  );
  return { sub, name: name ?? 'Signed in', roles, environments: strings(accessClaims.environments) };
}

export const can = {
  manageTenants: (p: Principal): boolean =>
    p.roles.includes('partner') || p.roles.includes('platform-operator'),
  manageEnvironments: (p: Principal): boolean => p.roles.includes('platform-operator'),
  switchIntegration: (p: Principal): boolean => p.roles.includes('platform-operator'),
  administer: (p: Principal, envId: string): boolean =>
    p.roles.includes('platform-operator') ||
    (p.roles.includes('environment-admin') && p.environments.includes(envId)),
};
