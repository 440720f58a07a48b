import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SecretsKey } from '../config.js';
import { AppError } from '../errors.js';

/**
 * Secrets at rest: AES-256-GCM, a fresh 96-bit nonce per encryption, the key id stored alongside so
 * keys can be rotated (the first key encrypts, every key decrypts). The ciphertext is bound to its
 * owner through the additional authenticated data, so a sealed value copied onto another record
 * does not decrypt.
 *
 * Sealed form: `v1.<keyId>.<nonce>.<ciphertext>.<tag>`, each part base64url.
 */
const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export function sealSecret(
  plaintext: string,
  associatedData: string,
  keys: readonly SecretsKey[],
  nonce: Buffer = randomBytes(NONCE_BYTES),
): string {
  const key = keys[0];
  if (!key) throw new AppError('config-invalid', 'No secrets key is configured.');
  if (nonce.length !== NONCE_BYTES) throw new AppError('internal', 'A nonce must be 96 bits.');
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [
    VERSION,
    key.id,
    nonce.toString('base64url'),
    ciphertext.toString('base64url'),
    tag.toString('base64url'),
  ].join('.');
}

/** The key id a sealed value was encrypted under (to find values still under a retired key). */
export function sealedKeyId(sealed: string): string | undefined {
  const parts = sealed.split('.');
  return parts[0] === VERSION ? parts[1] : undefined;
}

export function openSecret(sealed: string, associatedData: string, keys: readonly SecretsKey[]): string {
  const parts = sealed.split('.');
  const [version, keyId, nonce, ciphertext, tag] = parts;
  if (parts.length !== 5 || version !== VERSION || !keyId || !nonce || ciphertext === undefined || !tag) {
    throw new AppError('internal', 'A stored secret is malformed.');
  }
  const key = keys.find((candidate) => candidate.id === keyId);
  if (!key) {
    throw new AppError(
      'config-invalid',
      `A stored secret was encrypted under key "${keyId}", which is not configured.`,
    );
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(nonce, 'base64url'), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch (error) {
    throw new AppError('internal', 'A stored secret could not be decrypted.', { cause: error });
  }
}
