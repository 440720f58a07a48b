import { generatedUserId, newGeneratedBlock, parseGeneratedUserId } from './ids.js';
import {
  DEFAULT_PASSWORD,
  DirectoryAdminError,
  slug,
  type GeneratedBlock,
  type StoredGroup,
  type StoredUser,
} from './records.js';
import type { GenerateUsersOptions } from './types.js';

/** A new block of `count` users for `group`; its users exist only as a formula. */
export function newBlock(group: StoredGroup, count: number, options: GenerateUsersOptions): GeneratedBlock {
  if (!Number.isInteger(count) || count < 1 || count > 10_000_000) {
    throw new DirectoryAdminError(400, 'count must be an integer from 1 to 10,000,000');
  }
  return {
    block: newGeneratedBlock(),
    count,
    prefix: options.prefix ?? 'User',
    disabledEvery: options.disabledEvery,
    groupId: group.id,
    removedFromGroup: new Set(),
  };
}

/** A block's login prefix, computed once: pages of its users ask for it for every user. */
const loginPrefixes = new WeakMap<GeneratedBlock, string>();

function loginPrefix(block: GeneratedBlock): string {
  let prefix = loginPrefixes.get(block);
  if (prefix === undefined) {
    prefix = slug(block.prefix);
    loginPrefixes.set(block, prefix);
  }
  return prefix;
}

/** The user at `index` of a block, computed; `id` when the caller holds it already (lower case). */
export function generatedUserAt(
  block: GeneratedBlock,
  index: number,
  domain: string,
  id = generatedUserId(block.block, index),
): StoredUser {
  const n = index + 1;
  const login = `${loginPrefix(block)}${n}@${domain}`;
  return {
    id,
    displayName: `${block.prefix} ${n}`,
    givenName: block.prefix,
    surname: String(n),
    mail: login,
    otherMails: [],
    userPrincipalName: login,
    accountEnabled: block.disabledEvery === undefined || n % block.disabledEvery !== 0,
    password: DEFAULT_PASSWORD,
    createdDateTime: '2026-01-01T00:00:00Z',
  };
}

/** The generated user an id names, whether or not it was deleted since. */
export function generatedUserById(
  blocks: ReadonlyMap<string, GeneratedBlock>,
  id: string,
  domain: string,
): StoredUser | undefined {
  if (blocks.size === 0) return undefined;
  const parsed = parseGeneratedUserId(id);
  if (parsed === undefined) return undefined;
  const block = blocks.get(parsed.block);
  if (block === undefined || parsed.index >= block.count) return undefined;
  // A GUID's last part has 12 digits, as generatedUserId writes it: the lower-case id is the same string.
  return generatedUserAt(block, parsed.index, domain, id.toLowerCase());
}

/** Generated users sign in as `${prefix}${n}@domain` (lower case): the ids such a login may name. */
export function* generatedIdsForLogin(
  blocks: Iterable<GeneratedBlock>,
  domain: string,
  wanted: string,
): Generator<string> {
  const match = /^(.+?)(\d+)@(.+)$/.exec(wanted);
  if (match === null || match[3] !== domain) return;
  for (const block of blocks) {
    if (slug(block.prefix) !== match[1]) continue;
    const index = Number(match[2]) - 1;
    if (index < 0 || index >= block.count) continue;
    yield generatedUserId(block.block, index);
  }
}

/** Where a generated user sits among the blocks of `group`, if it is one of them. */
export function blockMembership(
  group: StoredGroup,
  id: string,
): { block: GeneratedBlock; index: number } | undefined {
  const parsed = parseGeneratedUserId(id);
  if (parsed === undefined) return undefined;
  const block = group.blocks.find((b) => b.block === parsed.block);
  return block === undefined || parsed.index >= block.count ? undefined : { block, index: parsed.index };
}

/** The ids of a block's users still in its group and in the directory, in index order. */
export function* blockMemberIds(block: GeneratedBlock, deleted: ReadonlySet<string>): Generator<string> {
  for (let index = 0; index < block.count; index += 1) {
    if (block.removedFromGroup.has(index)) continue;
    const id = generatedUserId(block.block, index);
    if (!deleted.has(id)) yield id;
  }
}
