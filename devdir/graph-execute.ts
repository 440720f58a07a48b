import type { Core } from './core.js';
import { render, renderer, type EntityType } from './graph-render.js';
import {
  CASTS,
  contextFor,
  decodeSkiptoken,
  DEFAULT_PAGE,
  encodeSkiptoken,
  MAX_PAGE,
  ofType,
  parseQuery,
  queryString,
  SETS,
  type Query,
} from './graph-query.js';
import {
  badRequest,
  CollectionPage,
  denied,
  graphError,
  isResult,
  notFound,
  ok,
  type GraphResult,
} from './graph-results.js';
import { isGuid } from './ids.js';
import type { Directory } from './model.js';
import type { StoredGroup } from './records.js';

export interface Caller {
  readonly directory: Directory;
  readonly canReadDirectory: boolean;
}

function segmentNotFound(segment: string): GraphResult {
  return graphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
}

/** One Graph operation, without auth or faults: the part shared by plain requests and `$batch` parts. */
export function execute(
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
    return segmentNotFound(segments.at(-1) ?? '');
  }
  if (!isGuid(id)) return badRequest(`Invalid object identifier '${id}'.`);
  if (!caller.canReadDirectory) return denied();
  const key = id.toLowerCase();
  if (collection === 'users') {
    if (navigation !== undefined) return segmentNotFound(navigation);
    return readUser(core, directory, id, search);
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
  if (navigation !== 'transitiveMembers' && navigation !== 'members') return segmentNotFound(navigation);
  const listing = {
    core,
    directory,
    group,
    path: segments.join('/'),
    transitive: navigation === 'transitiveMembers',
  };
  return listMembers(listing, cast, search, headers);
}

function readUser(core: Core, directory: Directory, id: string, search: URLSearchParams): GraphResult {
  const user = directory.user(id.toLowerCase());
  if (user === undefined) return notFound(id);
  const query = parseQuery(search, ['user']);
  if (isResult(query)) return query;
  return ok({
    '@odata.context': contextFor(core.origin, 'users', query.select, true),
    ...render({ type: 'user', user }, query.select, false),
  });
}

interface Listing {
  readonly core: Core;
  readonly directory: Directory;
  readonly group: StoredGroup;
  /** The request path below `/v1.0`, for the page link. */
  readonly path: string;
  readonly transitive: boolean;
}

/** `members` or `transitiveMembers`, optionally cast to one type: one page of them. */
function listMembers(
  listing: Listing,
  cast: string | undefined,
  search: URLSearchParams,
  headers: Record<string, string | undefined>,
): GraphResult {
  let castType: EntityType | undefined;
  if (cast !== undefined) {
    castType = CASTS[cast];
    if (castType === undefined) return segmentNotFound(cast);
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
  const { directory, group } = listing;
  let ids: readonly string[];
  if (listing.transitive) {
    const snapshot = directory.transitiveMembers(group.id, snapshotId);
    snapshotId = snapshot.snapshotId;
    ids = snapshot.ids;
  } else {
    snapshotId = '';
    ids = directory.directMembers(group.id);
  }
  return memberPage(listing, ofType(directory, ids, castType), castType, query, search, {
    snapshotId,
    offset,
  });
}

function memberPage(
  listing: Listing,
  matching: readonly string[],
  castType: EntityType | undefined,
  query: Query,
  search: URLSearchParams,
  position: { readonly snapshotId: string; readonly offset: number },
): GraphResult {
  const { core, directory } = listing;
  const { offset } = position;
  const pageSize = Math.min(query.top ?? DEFAULT_PAGE, directory.faults.pageCap ?? MAX_PAGE);
  const renderObject = renderer(query.select, true);
  const renderMember = (memberId: string): Record<string, unknown> | undefined => {
    // A member deleted since its listing was taken is left out of the listing's later pages.
    const object = directory.object(memberId);
    return object === undefined ? undefined : renderObject(object);
  };
  const head: Record<string, unknown> = {
    '@odata.context': contextFor(
      core.origin,
      castType === undefined ? 'directoryObjects' : SETS[castType],
      query.select,
    ),
  };
  if (query.count) head['@odata.count'] = matching.length;
  const next = offset + pageSize;
  if (next < matching.length) {
    head['@odata.nextLink'] = nextLinkOf(listing, search, position.snapshotId, next, pageSize);
  }
  return ok(new CollectionPage(head, matching.slice(offset, offset + pageSize), renderMember));
}

/** The page link, as the directory's nextLink fault (if any) spoils it. */
function nextLinkOf(
  listing: Listing,
  search: URLSearchParams,
  snapshotId: string,
  next: number,
  pageSize: number,
): string {
  const fault = listing.directory.faults.nextLink;
  const offset = fault?.kind === 'repeat' ? pageSize : next;
  const origin = fault?.kind === 'foreign-origin' ? fault.origin : listing.core.origin;
  return `${origin}/v1.0/${listing.path}?${queryString(search, encodeSkiptoken(snapshotId, offset))}`;
}
