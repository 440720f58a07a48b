/**
 * Who may do what, in one table. Routes name a permission and the resource it acts
 * on; nothing else in the code compares roles.
 */
export type Role = 'platform-operator' | 'partner' | 'environment-admin';

export const ROLES: readonly Role[] = ['platform-operator', 'partner', 'environment-admin'];

export interface Principal {
  readonly sub: string;
  readonly roles: readonly Role[];
  readonly environments: readonly string[];
}

/** What a permission is checked against: nothing, an environment, or an owned tenant. */
export type Resource =
  | { readonly kind: 'none' }
  | { readonly kind: 'environment'; readonly environmentId: string }
  | { readonly kind: 'tenant'; readonly owner: string };

export type Permission =
  /** Switch the integration on/off, create or rename an environment. */
  | 'environment:write'
  /** Read an environment; read/write its settings, syncs, runs and users. */
  | 'environment:manage'
  /** Create a tenant configuration (the caller becomes its owner). */
  | 'tenant:create'
  /** Read, change or delete one tenant configuration. */
  | 'tenant:manage'
  /** List tenant configurations (an operator sees all, a partner its own). */
  | 'tenant:list';

type Rule = (principal: Principal, resource: Resource) => boolean;

const has = (principal: Principal, role: Role): boolean => principal.roles.includes(role);
const isOperator: Rule = (principal) => has(principal, 'platform-operator');

const POLICY: Readonly<Record<Permission, readonly Rule[]>> = {
  'environment:write': [isOperator],
  'environment:manage': [
    isOperator,
    (principal, resource) =>
      has(principal, 'environment-admin') &&
      resource.kind === 'environment' &&
      principal.environments.includes(resource.environmentId),
  ],
  'tenant:create': [isOperator, (principal) => has(principal, 'partner')],
  'tenant:manage': [
    isOperator,
    (principal, resource) =>
      has(principal, 'partner') && resource.kind === 'tenant' && resource.owner === principal.sub,
  ],
  'tenant:list': [isOperator, (principal) => has(principal, 'partner')],
};

export function isAllowed(principal: Principal, permission: Permission, resource: Resource): boolean {
  return POLICY[permission].some((rule) => rule(principal, resource));
}

/** Whether listing tenants shows every tenant or only the caller's own. */
export function tenantListScope(principal: Principal): 'all' | 'own' {
  return isOperator(principal, { kind: 'none' }) ? 'all' : 'own';
}
