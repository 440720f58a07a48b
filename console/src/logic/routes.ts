/** The console's screens, by their path under `/console/`. */
export type Route =
  | { readonly name: 'home' }
  | { readonly name: 'session' }
  | { readonly name: 'tenants' }
  | { readonly name: 'tenant'; readonly tenant: string | undefined }
  | { readonly name: 'environments' }
  | { readonly name: 'environment'; readonly envId: string }
  | { readonly name: 'externalUsers'; readonly envId: string }
  | { readonly name: 'runs'; readonly envId: string }
  | { readonly name: 'run'; readonly envId: string; readonly runId: string }
  | { readonly name: 'users'; readonly envId: string }
  | { readonly name: 'user'; readonly envId: string; readonly userId: string }
  | { readonly name: 'notFound'; readonly path: string };

export const BASE_PATH = '/console/';

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch (error) {
    if (error instanceof URIError) return undefined;
    throw error;
  }
}

export function parseRoute(pathname: string): Route {
  const rest = pathname.startsWith(BASE_PATH)
    ? pathname.slice(BASE_PATH.length)
    : pathname.replace(/^\/+/, '');
  const raw = rest.split('/').filter((s) => s !== '');
  const parts = raw.map(decode);
  if (parts.some((p) => p === undefined)) return { name: 'notFound', path: pathname };
  const [first, second, third, fourth, ...more] = parts as string[];
  if (more.length > 0) return { name: 'notFound', path: pathname };
  if (first === undefined) return { name: 'home' };
  if (first === 'session' && second === undefined) return { name: 'session' };
  if (first === 'tenants') {
    if (second === undefined) return { name: 'tenants' };
    if (third === undefined) return { name: 'tenant', tenant: second === 'new' ? undefined : second };
  }
  if (first === 'environments') {
    if (second === undefined) return { name: 'environments' };
    const envId = second;
    if (third === undefined) return { name: 'environment', envId };
    if (third === 'external-users' && fourth === undefined) return { name: 'externalUsers', envId };
    if (third === 'runs')
      return fourth === undefined ? { name: 'runs', envId } : { name: 'run', envId, runId: fourth };
    if (third === 'users')
      return fourth === undefined ? { name: 'users', envId } : { name: 'user', envId, userId: fourth };
  }
  return { name: 'notFound', path: pathname };
}

const e = encodeURIComponent;

export function href(route: Route): string {
  switch (route.name) {
    case 'home':
      return BASE_PATH;
    case 'session':
      return `${BASE_PATH}session`;
    case 'tenants':
      return `${BASE_PATH}tenants`;
    case 'tenant':
      return `${BASE_PATH}tenants/${route.tenant === undefined ? 'new' : e(route.tenant)}`;
    case 'environments':
      return `${BASE_PATH}environments`;
    case 'environment':
      return `${BASE_PATH}environments/${e(route.envId)}`;
    case 'externalUsers':
      return `${BASE_PATH}environments/${e(route.envId)}/external-users`;
    case 'runs':
      return `${BASE_PATH}environments/${e(route.envId)}/runs`;
    case 'run':
      return `${BASE_PATH}environments/${e(route.envId)}/runs/${e(route.runId)}`;
    case 'users':
      return `${BASE_PATH}environments/${e(route.envId)}/users`;
    case 'user':
      return `${BASE_PATH}environments/${e(route.envId)}/users/${e(route.userId)}`;
    case 'notFound':
      return route.path;
  }
}

/** Only the console's own paths may be returned to after sign-in. */
export function safeReturnPath(value: string | null | undefined): string {
  if (typeof value !== 'string' || !value.startsWith(BASE_PATH) || value.startsWith('//')) return BASE_PATH;
  return value;
}
