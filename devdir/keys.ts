import { createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, type JWK } from 'jose';

type CryptoKey = webcrypto.CryptoKey;
type PrivateKey = CryptoKey;

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: PrivateKey;
  /** Public JWK as published in the JWKS (kid, use, alg included). */
  readonly publicJwk: JWK;
  /** SPKI PEM of the public key: the secret of the `hs256-public-key` defect. */
  readonly publicPem: string;
}

function newKid(): string {
  // Entra's kids are base64url thumbprint-like strings; ours only need to be unique.
  return randomBytes(15).toString('base64url');
}

async function freshSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', {
    modulusLength: 2048,
    extractable: true,
  });
  return fromKeyPair(newKid(), privateKey, publicKey);
}

/**
 * RSA key generation takes about half a second here, and every new directory needs a key: a few
 * keys are generated ahead (off the event loop, in the WebCrypto thread pool) so that creating a
 * directory in a test costs milliseconds.
 */
const POOL_SIZE = 3;
const pool: Promise<SigningKey>[] = [];

export function warmKeyPool(): void {
  while (pool.length < POOL_SIZE) {
    const key = freshSigningKey();
    // Rejections surface to whoever takes this key; none may go unhandled meanwhile.
    key.catch(() => undefined);
    pool.push(key);
  }
}

export function generateSigningKey(): Promise<SigningKey> {
  warmKeyPool();
  const key = pool.shift() ?? freshSigningKey();
  warmKeyPool();
  return key;
}

async function fromKeyPair(kid: string, privateKey: PrivateKey, publicKey: CryptoKey): Promise<SigningKey> {
  const jwk = await exportJWK(publicKey);
  return {
    kid,
    privateKey,
    publicJwk: { kty: jwk.kty, use: 'sig', kid, alg: 'RS256', n: jwk.n, e: jwk.e },
    publicPem: await exportSPKI(publicKey),
  };
}

/**
 * The management issuer's key survives restarts (kept in the state dir), so tokens printed by
 * `npm run token` stay valid while the stack is restarted.
 */
export async function loadOrCreatePersistentKey(stateDir: string, name: string): Promise<SigningKey> {
  const file = path.join(stateDir, 'keys', `${name}.json`);
  try {
    const stored = JSON.parse(await readFile(file, 'utf8')) as { kid: string; pkcs8: string };
    const privateKey = await importPKCS8(stored.pkcs8, 'RS256', { extractable: true });
    const publicKeyObject = createPublicKey(stored.pkcs8);
    const publicKey = await webcrypto.subtle.importKey(
      'spki',
      publicKeyObject.export({ type: 'spki', format: 'der' }),
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      true,
      ['verify'],
    );
    return await fromKeyPair(stored.kid, privateKey, publicKey);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = await generateSigningKey();
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify({ kid: key.kid, pkcs8: await exportPKCS8(key.privateKey) }), {
    mode: 0o600,
  });
  return key;
}
