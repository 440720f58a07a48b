import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate, webcrypto } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = {
  name: 'ECDSA',
  namedCurve: 'P-256',
  hash: 'SHA-256',
};
const DAY_MS = 24 * 60 * 60 * 1000;

export interface DevCaFiles {
  /** PEM of the CA certificate: what NODE_EXTRA_CA_CERTS must hold. */
  readonly caCertPath: string;
}

export interface ServerCredentials {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

function caDir(stateDir: string): string {
  return path.join(stateDir, 'ca');
}

async function exists(file: string): Promise<boolean> {
  try {
    await readFile(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (der === undefined) throw new Error('no key in PEM');
  return webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
}

/** Writes through a temporary file so a process reading concurrently never sees half a PEM. */
async function writeAtomic(file: string, content: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, content, { mode });
  await rename(temporary, file);
}

function stillValid(pem: string, minimumDays: number): boolean {
  const certificate = new NodeX509Certificate(pem);
  return new Date(certificate.validTo).getTime() - Date.now() > minimumDays * DAY_MS;
}

/**
 * The dev CA, created on first use and kept in `<stateDir>/ca`. Callable before any process that
 * must trust it is started, since Node reads NODE_EXTRA_CA_CERTS only once, at start-up.
 */
export async function ensureDevCa(stateDir: string): Promise<DevCaFiles> {
  const dir = caDir(stateDir);
  const caCertPath = path.join(dir, 'ca.pem');
  const caKeyPath = path.join(dir, 'ca.key.pem');
  if ((await exists(caCertPath)) && (await exists(caKeyPath))) {
    if (stillValid(await readFile(caCertPath, 'utf8'), 30)) return { caCertPath };
  }
  await mkdir(dir, { recursive: true });
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=BizzStream Dev Directory CA (local only), O=BizzStream development',
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 3650 * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await writeAtomic(caKeyPath, await exportPrivateKeyPem(keys.privateKey), 0o600);
  await writeAtomic(caCertPath, certificate.toString('pem') + '\n', 0o644);
  // A new CA invalidates any server certificate signed by the old one.
  await writeFile(path.join(dir, 'server.pem'), '', { mode: 0o644 });
  return { caCertPath };
}

/** A server certificate for localhost, 127.0.0.1 and ::1, signed by the dev CA (renewed when near expiry). */
export async function ensureServerCredentials(stateDir: string): Promise<ServerCredentials> {
  const { caCertPath } = await ensureDevCa(stateDir);
  const dir = caDir(stateDir);
  const certPath = path.join(dir, 'server.pem');
  const keyPath = path.join(dir, 'server.key.pem');
  const ca = await readFile(caCertPath, 'utf8');
  if ((await exists(certPath)) && (await exists(keyPath))) {
    const cert = await readFile(certPath, 'utf8');
    if (cert.trim() !== '' && stillValid(cert, 7) && issuedBy(cert, ca)) {
      return { cert, key: await readFile(keyPath, 'utf8'), ca };
    }
  }
  const caCertificate = new x509.X509Certificate(ca);
  const caKey = await importPrivateKeyPem(await readFile(path.join(dir, 'ca.key.pem'), 'utf8'));
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.create({
    subject: 'CN=localhost',
    issuer: caCertificate.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 365 * DAY_MS),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(
        [
          { type: 'dns', value: 'localhost' },
          { type: 'ip', value: '127.0.0.1' },
          { type: 'ip', value: '::1' },
        ],
        false,
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const key = await exportPrivateKeyPem(keys.privateKey);
  const cert = certificate.toString('pem') + '\n';
  await writeAtomic(keyPath, key, 0o600);
  await writeAtomic(certPath, cert, 0o644);
  return { cert, key, ca };
}

function issuedBy(certPem: string, caPem: string): boolean {
  return new NodeX509Certificate(certPem).checkIssued(new NodeX509Certificate(caPem));
}

/**
 * The value NODE_EXTRA_CA_CERTS must take for a child process to trust the dev CA: the CA file
 * itself, or, when a file is already configured, a combined file written to `combinedPath`
 * (Node reads one file only, and an operator's CAs must never be dropped).
 */
export async function extraCaCertsWith(
  caCertPath: string,
  existing: string | undefined,
  combinedPath: string,
): Promise<string> {
  if (existing === undefined || existing === '' || path.resolve(existing) === path.resolve(caCertPath)) {
    return caCertPath;
  }
  const parts = [await readFile(existing, 'utf8'), await readFile(caCertPath, 'utf8')];
  await mkdir(path.dirname(combinedPath), { recursive: true });
  await writeAtomic(combinedPath, parts.map((p) => p.trim()).join('\n') + '\n', 0o644);
  return combinedPath;
}
