import type { Directory } from './model.js';
import type { EntityType } from './graph-render.js';
import { PROPERTIES } from './graph-render.js';
import { badRequest, type GraphResult } from './graph-results.js';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 999;
const ALLOWED_OPTIONS = new Set(['$select', '$top', '$skiptoken', '$count']);

export interface Query {
  readonly select: string[] | undefined;
  readonly top: number | undefined;
  readonly skiptoken: string | undefined;
  readonly count: boolean;
}

export function parseQuery(search: URLSearchParams, types: readonly EntityType[]): Query | GraphResult {
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

function typeOf(directory: Directory, id: string): EntityType {
  if (directory.groups.has(id)) return 'group';
  if (directory.devices.has(id)) return 'device';
  return 'user';
}

const filtered = new WeakMap<readonly string[], Map<EntityType, readonly string[]>>();

export function ofType(
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

export function encodeSkiptoken(snapshot: string, offset: number): string {
  return Buffer.from(JSON.stringify({ s: snapshot, o: offset })).toString('base64url');
}

export function decodeSkiptoken(token: string): { s: string | undefined; o: number } | undefined {
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

export function queryString(search: URLSearchParams, skiptoken: string): string {
  const parts: string[] = [];
  for (const [name, value] of search) {
    if (name === '$skiptoken') continue;
    parts.push(`${name}=${encodeURIComponent(value).replace(/%2C/g, ',')}`);
  }
  parts.push(`$skiptoken=${skiptoken}`);
  return parts.join('&');
}

export function contextFor(
  origin: string,
  set: string,
  select: readonly string[] | undefined,
  entity = false,
): string {
  return `${origin}/v1.0/$metadata#${set}${select === undefined ? '' : `(${select.join(',')})`}${entity ? '/$entity' : ''}`;
}

export const CASTS: Record<string, EntityType> = {
  'microsoft.graph.user': 'user',
  'microsoft.graph.group': 'group',
  'microsoft.graph.device': 'device',
};
export const SETS: Record<EntityType, string> = { user: 'users', group: 'groups', device: 'devices' };

export function lowerHeaders(headers: Record<string, unknown>): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    result[name.toLowerCase()] =
      typeof value === 'string' ? value : Array.isArray(value) ? value.join(',') : undefined;
  }
  return result;
}
