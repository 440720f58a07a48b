import { hash as digestOf } from 'node:crypto';
import { guidText } from '../interning.js';

/**
 * Namespace of user ids (a fixed, random UUID). Changing it would give every user a new id.
 */
const USER_ID_NAMESPACE = Buffer.from('6f1c2a8e4b7d4e0f9a3c5d2b1e8f7a60', 'hex');

/** Holds the namespace and a name while it is hashed (a sync hashes one per member). */
const INPUT = Buffer.alloc(1024);
USER_ID_NAMESPACE.copy(INPUT);

/**
 * The namespace followed by `name` in UTF-8. A shared buffer and the one-shot hash: at 100,000
 * members a hash object and a concatenation per member cost more than the hashing.
 */
function hashInput(name: string): Buffer {
  const room = INPUT.length - USER_ID_NAMESPACE.length;
  // A UTF-16 unit takes at most 3 bytes in UTF-8.
  if (name.length * 3 > room) return Buffer.concat([USER_ID_NAMESPACE, Buffer.from(name, 'utf8')]);
  const written = INPUT.write(name, USER_ID_NAMESPACE.length, 'utf8');
  return INPUT.subarray(0, USER_ID_NAMESPACE.length + written);
}

/**
 * The id of the user of an identity: a name-based UUID (RFC 9562 version 5) of
 * `directoryId/objectId`, lower-cased. Being a function of the identity, two runs that meet the same
 * identity at the same time compute the same id, so there can never be two users for it.
 */
export function userIdOf(directoryId: string, objectId: string): string {
  const name = `${directoryId.toLowerCase()}/${objectId.toLowerCase()}`;
  const hash = digestOf('sha1', hashInput(name), 'buffer');
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return guidText(bytes);
}
