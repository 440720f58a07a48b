/**
 * Which origins a tenant may name as its directory. A tenant's `authorityHost` and `graphBaseUrl`
 * decide where the service sends client secrets and whose answers it trusts, so they are held to
 * Microsoft's own clouds plus the hosts an operator lists (`DIRECTORY_HOSTS`), matched exactly.
 */

export type DirectoryHostKind = 'authorityHost' | 'graphBaseUrl';

export const MICROSOFT_AUTHORITY_HOSTS: readonly string[] = [
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
];

export const MICROSOFT_GRAPH_HOSTS: readonly string[] = [
  'graph.microsoft.com',
  'graph.microsoft.us',
  'dod-graph.microsoft.us',
  'microsoftgraph.chinacloudapi.cn',
];

const MICROSOFT_HOSTS: Readonly<Record<DirectoryHostKind, readonly string[]>> = {
  authorityHost: MICROSOFT_AUTHORITY_HOSTS,
  graphBaseUrl: MICROSOFT_GRAPH_HOSTS,
};

/**
 * The WHATWG form of `host` or `host:port` (lower case, punycode, IP literals normalised, the
 * default https port dropped), so that a listed entry and a tenant's URL compare as strings.
 * Undefined when the entry is anything but a bare host with an optional port.
 */
export function normalizeHostEntry(entry: string): string | undefined {
  const trimmed = entry.trim();
  if (trimmed === '' || /[/?#@\\\s]/.test(trimmed)) return undefined;
  let url: URL;
  try {
    url = new URL(`https://${trimmed}`);
  } catch (error) {
    if (error instanceof TypeError) return undefined;
    throw error;
  }
  // Port 0 is no port anything listens on: an entry naming it is a mistake, not a host.
  if (url.hostname === '' || url.pathname !== '/' || url.port === '0') return undefined;
  return url.host;
}

export interface ParsedDirectoryHosts {
  /** Normalised `host[:port]` entries. */
  readonly hosts: readonly string[];
  /** Entries that are not a host or `host:port`, as written. */
  readonly invalid: readonly string[];
}

/** The `DIRECTORY_HOSTS` setting: comma-separated `host` or `host:port`; empty means none. */
export function parseDirectoryHosts(setting: string | undefined): ParsedDirectoryHosts {
  const hosts: string[] = [];
  const invalid: string[] = [];
  for (const entry of (setting ?? '').split(',')) {
    if (entry.trim() === '') continue;
    const host = normalizeHostEntry(entry);
    if (host === undefined) invalid.push(entry.trim());
    else if (!hosts.includes(host)) hosts.push(host);
  }
  return { hosts, invalid };
}

export type DirectoryOriginCheck =
  { readonly ok: true; readonly origin: string } | { readonly ok: false; readonly message: string };

/**
 * Whether `value` may be a tenant's `authorityHost` or `graphBaseUrl`: an https origin (no path,
 * query, fragment or credentials) whose host[:port] is exactly one of Microsoft's for that kind or
 * one of `extraHosts` (normalised entries, see parseDirectoryHosts). The origin comes back without
 * a trailing slash. Messages name the rule broken, never other tenants or settings' contents.
 */
export function checkDirectoryOrigin(
  value: string,
  kind: DirectoryHostKind,
  extraHosts: readonly string[],
): DirectoryOriginCheck {
  const refuse = (message: string): DirectoryOriginCheck => ({ ok: false, message });
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    if (error instanceof TypeError) return refuse('must be an https:// origin, e.g. https://host');
    throw error;
  }
  if (url.protocol !== 'https:') return refuse('must use https://');
  if (url.username !== '' || url.password !== '') return refuse('must not hold credentials');
  // `?` or `#` with nothing after them leave search and hash empty, so look at the text too.
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || /[?#]/.test(value)) {
    return refuse('must be an origin only (no path, query or fragment)');
  }
  const allowed = url.port === '' && MICROSOFT_HOSTS[kind].includes(url.hostname);
  if (!allowed && !extraHosts.includes(url.host)) {
    return refuse(
      kind === 'authorityHost'
        ? `must be one of Microsoft's sign-in hosts (${MICROSOFT_AUTHORITY_HOSTS.join(', ')}) or a host allowed by the service's operator`
        : `must be one of Microsoft Graph's hosts (${MICROSOFT_GRAPH_HOSTS.join(', ')}) or a host allowed by the service's operator`,
    );
  }
  return { ok: true, origin: url.origin };
}

/** Whether `url` is an absolute https URL on exactly `origin`, without credentials. */
export function isOnOrigin(url: string, origin: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    if (error instanceof TypeError) return false;
    throw error;
  }
  return (
    parsed.protocol === 'https:' &&
    parsed.username === '' &&
    parsed.password === '' &&
    parsed.origin === new URL(origin).origin
  );
}
