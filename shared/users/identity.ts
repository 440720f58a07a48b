import { createHash } from 'node:crypto';
import { guidText } from '../interning.js';

/**
 * Namespace of user ids (a fixed, random UUID). Changing it would give every user a new id.
 */
const USER_ID_NAMESPACE = Buffer.from('6f1c2a8e4b7d4e0f9a3c5d2b1e8f7a60', 'hex');

/**
 * The id of the user of an identity: a name-based UUID (RFC 9562 version 5) of
 * `directoryId/objectId`, lower-cased. Being a function of the identity, two runs that meet the same
 * identity at the same time compute the same id, so there can never be two users for it.
 */
export function userIdOf(directoryId: string, objectId: string): string {
  const name = `${directoryId.toLowerCase()}/${objectId.toLowerCase()}`;
  const hash = createHash('sha1').update(USER_ID_NAMESPACE).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return guidText(bytes);
}
