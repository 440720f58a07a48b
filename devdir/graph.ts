import type { IncomingMessage } from 'node:http';
import type { Core } from './core.js';
import { takeFailure, slowedDown } from './faults.js';
import { readBody, requestId, type Reply } from './http.js';
import { isGuid } from './ids.js';
import type { Directory } from './model.js';
import type { DirectoryObject, StoredGroup, StoredUser } from './records.js';
import { verifyAccessToken } from './tokens.js';

/** What Graph answers for one request (a whole HTTP request or one part of a `$batch`). */
interface GraphResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

const ODATA_JSON =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const BATCH_LIMIT = 20;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 999;
const ALLOWED_OPTIONS = new Set(['$select', '$top', '$skiptoken', '$count']);

type EntityType = 'user' | 'group' | 'device';

const USER_PROPERTIES = [
  'id',
  'accountEnabled',
  'businessPhones',
  'createdDateTime',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mailNickname',
  'mobilePhone',
  'officeLocation',
  'otherMails',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'userType',
];
/** What Graph returns for a user without `$select` (accountEnabled and otherMails are not among them). */
const USER_DEFAULT = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];
const GROUP_PROPERTIES = [
  'id',
  'classification',
  'createdDateTime',
  'deletedTime',
  'description',
  'displayName',
  'groupTypes',
  'mail',
  'mailEnabled',
  'mailNickname',
  'securityEnabled',
  'visibility',
];
const DEVICE_PROPERTIES = [
  'id',
  'accountEnabled',
  'deviceId',
  'displayName',
  'operatingSystem',
  'operatingSystemVersion',
];
const PROPERTIES: Record<EntityType, readonly string[]> = {
  user: USER_PROPERTIES,
  group: GROUP_PROPERTIES,
  device: DEVICE_PROPERTIES,
};

function graphError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): GraphResult {
  const id = requestId();
  return {
    status,
    headers: { 'content-type': 'application/json', 'request-id': id, 'client-request-id': id, ...headers },
    body: {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().replace(/\.\d{3}Z$/, ''),
          'request-id': id,
          'client-request-id': id,
        },
      },
    },
  };
}

function ok(body: unknown): GraphResult {
  return { status: 200, headers: { 'content-type': ODATA_JSON, 'request-id': requestId() }, body };
}

function badRequest(message: string): GraphResult {
  return graphError(400, 'Request_BadRequest', message);
}

function notFound(id: string): GraphResult {
  return graphError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

function denied(): GraphResult {
  return graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
}

function retryAfterHeader(seconds: number | null): Record<string, string> {
  return seconds === null ? {} : { 'retry-after': String(seconds) };
}

function toReply(result: GraphResult): Reply {
  return { status: result.status, headers: result.headers, body: JSON.stringify(result.body) };
}

function userType(user: StoredUser): 'Guest' | 'Member' {
  return user.userPrincipalName.includes('#EXT#') ? 'Guest' : 'Member';
}

/** Properties the dev directory stores under their Graph names. */
const USER_STORED = [
  'id',
  'accountEnabled',
  'createdDateTime',
  'displayName',
  'givenName',
  'mail',
  'surname',
  'userPrincipalName',
] as const satisfies readonly (keyof StoredUser)[];
const GROUP_STORED = [
  'id',
  'createdDateTime',
  'description',
  'displayName',
] as const satisfies readonly (keyof StoredGroup)[];

function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}

/** Properties Graph computes from what is stored. */
const USER_COMPUTED = new Map<string, (user: StoredUser) => unknown>([
  ['businessPhones', () => []],
  ['mailNickname', (user) => user.userPrincipalName.split('@')[0] ?? null],
  ['otherMails', (user) => [...user.otherMails]],
  ['userType', userType],
]);
const GROUP_COMPUTED = new Map<string, (group: StoredGroup) => unknown>([
  ['groupTypes', () => []],
  ['mailEnabled', () => false],
  [
    'mailNickname',
    (group) => group.displayName.replace(/[^A-Za-z0-9]/g, '').slice(0, 64) || group.id.slice(0, 8),
  ],
  ['securityEnabled', () => true],
]);

function userValue(user: StoredUser, property: string): unknown {
  if (isOneOf(USER_STORED, property)) return user[property];
  const compute = USER_COMPUTED.get(property);
  return compute === undefined ? null : compute(user);
}

function groupValue(group: StoredGroup, property: string): unknown {
  if (isOneOf(GROUP_STORED, property)) return group[property];
  const compute = GROUP_COMPUTED.get(property);
  return compute === undefined ? null : compute(group);
}

function render(
  object: DirectoryObject,
  select: readonly string[] | undefined,
  withType: boolean,
): Record<string, unknown> {
  const result: Record<string, unknown> = withType
    ? { '@odata.type': `#microsoft.graph.${object.type}` }
    : {};
  switch (object.type) {
    case 'user':
      for (const property of select ?? USER_DEFAULT) {
        if (USER_PROPERTIES.includes(property)) result[property] = userValue(object.user, property);
      }
      break;
    case 'group':
      for (const property of select ?? GROUP_PROPERTIES) {
        if (GROUP_PROPERTIES.includes(property)) result[property] = groupValue(object.group, property);
      }
      break;
    case 'device':
      for (const property of select ?? DEVICE_PROPERTIES) {
        if (!DEVICE_PROPERTIES.includes(property)) continue;
        result[property] =
          property === 'id' || property === 'deviceId'
            ? object.device.id
            : property === 'displayName'
              ? object.device.displayName
              : property === 'accountEnabled'
                ? true
                : null;
      }
      break;
  }
  return result;
}

interface Query {
  readonly select: string[] | undefined;
  readonly top: number | undefined;
  readonly skiptoken: string | undefined;
  readonly count: boolean;
}

function parseQuery(search: URLSearchParams, types: readonly EntityType[]): Query | GraphResult {
  for (const name of search.keys()) {
    if (name.startsWith('$') && !ALLOWED_OPTIONS.has(name)) {
      return badRequest(
        `The query option '${name}' is not supported by the dev directory (the sync uses $select, $top and $count only).`,
      );
    }
  }
  let select: string[] | undefined;
  const selectValue = search.get('$select');
  if (selectValue !== null) {
    select = selectValue
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    for (const property of select) {
      if (!types.some((type) => PROPERTIES[type].includes(property))) {
        return badRequest(
          `Could not find a property named '${property}' on type 'microsoft.graph.${types.length === 1 ? types[0] : 'directoryObject'}'.`,
        );
      }
    }
  }
  let top: number | undefined;
  const topValue = search.get('$top');
  if (topValue !== null) {
    top = /^\d+$/.test(topValue) ? Number(topValue) : Number.NaN;
    if (!(top >= 1 && top <= MAX_PAGE)) {
      return badRequest(
        `Invalid page size specified: '${topValue}'. Must be between 1 and ${MAX_PAGE} inclusive.`,
      );
    }
  }
  const countValue = search.get('$count');
  if (countValue !== null && countValue !== 'true' && countValue !== 'false') {
    return badRequest(`Invalid value '${countValue}' for $count.`);
  }
  return { select, top, skiptoken: search.get('$skiptoken') ?? undefined, count: countValue === 'true' };
}

function isResult(value: unknown): value is GraphResult {
  return typeof value === 'object' && value !== null && 'status' in value && 'body' in value;
}

function typeOf(directory: Directory, id: string): EntityType {
  if (directory.groups.has(id)) return 'group';
  if (directory.devices.has(id)) return 'device';
  return 'user';
}

const filtered = new WeakMap<readonly string[], Map<EntityType, readonly string[]>>();

function ofType(
  directory: Directory,
  ids: readonly string[],
  type: EntityType | undefined,
): readonly string[] {
  if (type === undefined) return ids;
  let byType = filtered.get(ids);
  if (byType === undefined) {
    byType = new Map();
    filtered.set(ids, byType);
  }
  let list = byType.get(type);
  if (list === undefined) {
    list = ids.filter((id) => typeOf(directory, id) === type);
    byType.set(type, list);
  }
  return list;
}

function encodeSkiptoken(snapshot: string, offset: number): string {
  return Buffer.from(JSON.stringify({ s: snapshot, o: offset })).toString('base64url');
}

function decodeSkiptoken(token: string): { s: string | undefined; o: number } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      s?: unknown;
      o?: unknown;
    };
    if (typeof parsed.o !== 'number' || !Number.isInteger(parsed.o) || parsed.o < 0) return undefined;
    return { s: typeof parsed.s === 'string' ? parsed.s : undefined, o: parsed.o };
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function queryString(search: URLSearchParams, skiptoken: string): string {
  const parts: string[] = [];
  for (const [name, value] of search) {
    if (name === '$skiptoken') continue;
    parts.push(`${name}=${encodeURIComponent(value).replace(/%2C/g, ',')}`);
  }
  parts.push(`$skiptoken=${skiptoken}`);
  return parts.join('&');
}

function contextFor(
  origin: string,
  set: string,
  select: readonly string[] | undefined,
  entity = false,
): string {
  return `${origin}/v1.0/$metadata#${set}${select === undefined ? '' : `(${select.join(',')})`}${entity ? '/$entity' : ''}`;
}

const CASTS: Record<string, EntityType> = {
  'microsoft.graph.user': 'user',
  'microsoft.graph.group': 'group',
  'microsoft.graph.device': 'device',
};
const SETS: Record<EntityType, string> = { user: 'users', group: 'groups', device: 'devices' };

interface Caller {
  readonly directory: Directory;
  readonly canReadDirectory: boolean;
}

/** One Graph operation, without auth or faults: the part shared by plain requests and `$batch` parts. */
function execute(
  core: Core,
  caller: Caller,
  method: string,
  path: string,
  search: URLSearchParams,
  headers: Record<string, string | undefined>,
): GraphResult {
  const { directory } = caller;
  const segments = path.split('/').filter((s) => s !== '');
  if (method !== 'GET') {
    return graphError(
      405,
      'Request_BadRequest',
      `The dev directory serves only the reads the sync makes (${method} ${path}).`,
    );
  }
  const [collection, id, navigation, cast, ...rest] = segments;
  if ((collection !== 'groups' && collection !== 'users') || id === undefined || rest.length > 0) {
    return graphError(400, 'BadRequest', `Resource not found for the segment '${segments.at(-1) ?? ''}'.`);
  }
  if (!isGuid(id)) return badRequest(`Invalid object identifier '${id}'.`);
  if (!caller.canReadDirectory) return denied();
  const key = id.toLowerCase();

  if (collection === 'users') {
    if (navigation !== undefined)
      return graphError(400, 'BadRequest', `Resource not found for the segment '${navigation}'.`);
    const user = directory.user(key);
    if (user === undefined) return notFound(id);
    const query = parseQuery(search, ['user']);
    if (isResult(query)) return query;
    return ok({
      '@odata.context': contextFor(core.origin, 'users', query.select, true),
      ...render({ type: 'user', user }, query.select, false),
    });
  }

  const failure = directory.faults.failedGroups.get(key);
  if (failure === 404) return notFound(id);
  if (failure === 403) return denied();
  const group = directory.groups.get(key);
  if (group === undefined) return notFound(id);

  if (navigation === undefined) {
    const query = parseQuery(search, ['group']);
    if (isResult(query)) return query;
    return ok({
      '@odata.context': contextFor(core.origin, 'groups', query.select, true),
      ...render({ type: 'group', group }, query.select, false),
    });
  }
  if (navigation !== 'transitiveMembers' && navigation !== 'members') {
    return graphError(400, 'BadRequest', `Resource not found for the segment '${navigation}'.`);
  }
  let castType: EntityType | undefined;
  if (cast !== undefined) {
    castType = CASTS[cast];
    if (castType === undefined)
      return graphError(400, 'BadRequest', `Resource not found for the segment '${cast}'.`);
  }
  const query = parseQuery(search, castType === undefined ? ['user', 'group', 'device'] : [castType]);
  if (isResult(query)) return query;
  if (query.count && headers.consistencylevel?.toLowerCase() !== 'eventual') {
    return badRequest('$count is not currently supported.');
  }
  let snapshotId: string | undefined;
  let offset = 0;
  if (query.skiptoken !== undefined) {
    const decoded = decodeSkiptoken(query.skiptoken);
    if (decoded === undefined) return badRequest(`Invalid $skiptoken '${query.skiptoken}'.`);
    snapshotId = decoded.s;
    offset = decoded.o;
  }
  let ids: readonly string[];
  if (navigation === 'transitiveMembers') {
    const snapshot = directory.transitiveMembers(group.id, snapshotId);
    snapshotId = snapshot.snapshotId;
    ids = snapshot.ids;
  } else {
    snapshotId = '';
    ids = directory.directMembers(group.id);
  }
  const matching = ofType(directory, ids, castType);
  const pageSize = Math.min(query.top ?? DEFAULT_PAGE, directory.faults.pageCap ?? MAX_PAGE);
  const page = matching.slice(offset, offset + pageSize);
  const value: Record<string, unknown>[] = [];
  for (const memberId of page) {
    const object = directory.object(memberId);
    if (object !== undefined) value.push(render(object, query.select, true));
  }
  const body: Record<string, unknown> = {
    '@odata.context': contextFor(
      core.origin,
      castType === undefined ? 'directoryObjects' : SETS[castType],
      query.select,
    ),
  };
  if (query.count) body['@odata.count'] = matching.length;
  const next = offset + pageSize;
  if (next < matching.length) {
    body['@odata.nextLink'] = nextLinkOf(
      core,
      directory,
      segments.join('/'),
      search,
      snapshotId,
      next,
      pageSize,
    );
  }
  body.value = value;
  return ok(body);
}

/** Consumes the directory's injected faults for one operation; a result when it must fail. */
function injectedFault(directory: Directory): GraphResult | undefined {
  const failure = takeFailure(directory, 'graph');
  if (failure === undefined) return undefined;
  const [code, message] =
    failure.status === 429
      ? ['TooManyRequests', 'Too many requests. Please try again later.']
      : failure.status === 500
        ? ['generalException', 'General exception while processing.']
        : failure.status === 503
          ? ['serviceNotAvailable', 'Service unavailable.']
          : ['gatewayTimeout', 'Gateway timeout.'];
  return graphError(failure.status, code, message, retryAfterHeader(failure.retryAfterSeconds));
}

/** The page link, as the directory's nextLink fault (if any) spoils it. */
function nextLinkOf(
  core: Core,
  directory: Directory,
  path: string,
  search: URLSearchParams,
  snapshotId: string,
  next: number,
  pageSize: number,
): string {
  const fault = directory.faults.nextLink;
  const offset = fault?.kind === 'repeat' ? pageSize : next;
  const origin = fault?.kind === 'foreign-origin' ? fault.origin : core.origin;
  return `${origin}/v1.0/${path}?${queryString(search, encodeSkiptoken(snapshotId, offset))}`;
}

function unauthorized(message: string): GraphResult {
  return graphError(401, 'InvalidAuthenticationToken', message, {
    'www-authenticate':
      'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
  });
}

function lowerHeaders(headers: Record<string, unknown>): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    result[name.toLowerCase()] =
      typeof value === 'string' ? value : Array.isArray(value) ? value.join(',') : undefined;
  }
  return result;
}

/** Everything under `/v1.0`. */
export async function handleGraph(core: Core, request: IncomingMessage, url: URL): Promise<Reply> {
  const method = request.method ?? 'GET';
  const authorization = request.headers.authorization ?? '';
  const token = /^bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim();
  const log = (
    directoryId: string | undefined,
    status: number,
    kind: 'graph' | 'graph-batch-part' = 'graph',
    logPath = url.pathname,
    query = url.search.slice(1),
  ): void => core.record({ kind, directoryId, method, path: logPath, query, status });
  if (token === undefined || token === '') {
    const result = unauthorized('Access token is empty.');
    log(undefined, result.status);
    return toReply(result);
  }
  const check = await verifyAccessToken(token, {
    origin: core.origin,
    audience: core.graphAudience,
    directory: (id) => core.directory(id),
  });
  if (!check.ok) {
    const result = unauthorized(check.message);
    log(check.directoryId, result.status);
    return toReply(result);
  }
  const { directory, claims } = check;
  const roles = Array.isArray(claims.roles) ? (claims.roles as unknown[]) : [];
  const caller: Caller = {
    directory,
    canReadDirectory: roles.some((role) =>
      ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All'].includes(String(role)),
    ),
  };
  return slowedDown(directory, 'graph', () => answerGraph(core, caller, request, url, log));
}

async function answerGraph(
  core: Core,
  caller: Caller,
  request: IncomingMessage,
  url: URL,
  log: (directoryId: string | undefined, status: number) => void,
): Promise<Reply> {
  const { directory } = caller;
  const path = url.pathname.slice('/v1.0'.length);
  const method = request.method ?? 'GET';
  if (path === '/$batch') {
    if (method !== 'POST') {
      const result = graphError(405, 'BadRequest', 'The $batch endpoint accepts only POST.');
      log(directory.id, result.status);
      return toReply(result);
    }
    const result = await batch(core, caller, request);
    log(directory.id, result.status);
    return toReply(result);
  }
  const result =
    injectedFault(directory) ??
    execute(core, caller, method, path, url.searchParams, lowerHeaders(request.headers));
  log(directory.id, result.status);
  return toReply(result);
}

interface BatchPart {
  id?: unknown;
  method?: unknown;
  url?: unknown;
  headers?: unknown;
}

async function batch(core: Core, caller: Caller, request: IncomingMessage): Promise<GraphResult> {
  let payload: { requests?: unknown };
  try {
    payload = JSON.parse(await readBody(request)) as { requests?: unknown };
  } catch (error) {
    if (error instanceof SyntaxError) return graphError(400, 'BadRequest', 'Invalid batch payload format.');
    throw error;
  }
  if (!Array.isArray(payload.requests) || payload.requests.length === 0) {
    return graphError(400, 'BadRequest', 'Invalid batch payload format.');
  }
  const parts = payload.requests as BatchPart[];
  if (parts.length > BATCH_LIMIT) {
    return graphError(
      400,
      'BadRequest',
      `The number of requests in a batch exceeds the limit of ${BATCH_LIMIT}.`,
    );
  }
  const ids = new Set<string>();
  for (const part of parts) {
    if (typeof part.id !== 'string' || typeof part.method !== 'string' || typeof part.url !== 'string') {
      return graphError(
        400,
        'BadRequest',
        'Invalid batch payload format: each request needs id, method and url.',
      );
    }
    if (ids.has(part.id))
      return graphError(400, 'BadRequest', `Batch request ids must be unique: '${part.id}'.`);
    ids.add(part.id);
  }
  const responses = parts.map((part) => {
    const relative = String(part.url).replace(/^\/?/, '/');
    const url = new URL(`${core.origin}/v1.0${relative}`);
    const headers =
      typeof part.headers === 'object' && part.headers !== null
        ? lowerHeaders(part.headers as Record<string, unknown>)
        : {};
    const result =
      injectedFault(caller.directory) ??
      execute(
        core,
        caller,
        String(part.method).toUpperCase(),
        url.pathname.slice('/v1.0'.length),
        url.searchParams,
        headers,
      );
    core.record({
      kind: 'graph-batch-part',
      directoryId: caller.directory.id,
      method: String(part.method).toUpperCase(),
      path: url.pathname,
      query: url.search.slice(1),
      status: result.status,
    });
    const headersOut = { ...result.headers };
    delete headersOut['request-id'];
    delete headersOut['client-request-id'];
    return {
      id: part.id,
      status: result.status,
      headers: { 'Cache-Control': 'no-cache', ...capitalize(headersOut) },
      body: result.body,
    };
  });
  return {
    status: 200,
    headers: { 'content-type': ODATA_JSON, 'request-id': requestId() },
    body: { responses },
  };
}

function capitalize(headers: Record<string, string>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    result[name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())] = value;
  }
  return result;
}
