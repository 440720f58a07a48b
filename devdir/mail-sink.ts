import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { MailMessage } from './types.js';

export interface StartMailSinkOptions {
  /** 0 or absent: a free port. */
  readonly port?: number;
  /** Where each message is kept as a `.eml` file. */
  readonly dir: string;
  /** Receives the one-line summary of each message; `false` for silence. Default console.log. */
  readonly log?: ((line: string) => void) | false;
}

export interface MailSink {
  readonly port: number;
  readonly dir: string;
  /** `smtp://localhost:PORT`: what SMTP_URL is set to. */
  readonly url: string;
  messages(): Promise<MailMessage[]>;
  stop(): Promise<void>;
}

const ENVELOPE_FROM = 'X-Mail-Sink-Envelope-From';
const ENVELOPE_TO = 'X-Mail-Sink-Envelope-To';
const RECEIVED_AT = 'X-Mail-Sink-Received-At';
const MAX_MESSAGE = 10 * 1024 * 1024;

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.flatMap((object) => object.value.map((entry) => entry.address ?? '').filter((a) => a !== ''));
}

async function parseMessage(file: string): Promise<MailMessage> {
  const raw = await readFile(file, 'utf8');
  const parsed = await simpleParser(raw);
  const header = (name: string): string => {
    const value = parsed.headers.get(name.toLowerCase());
    return typeof value === 'string' ? value : '';
  };
  return {
    id: path.basename(file, '.eml'),
    file,
    receivedAt: header(RECEIVED_AT),
    envelopeFrom: header(ENVELOPE_FROM),
    envelopeTo: header(ENVELOPE_TO)
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== ''),
    from: parsed.from?.text ?? '',
    to: addresses(parsed.to),
    subject: parsed.subject ?? '',
    text: parsed.text ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : undefined,
    raw,
  };
}

/** Every message of a mail sink folder, oldest first; usable from any process that can read the folder. */
export async function readMailbox(dir: string): Promise<MailMessage[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files = names.filter((name) => name.endsWith('.eml')).sort();
  return Promise.all(files.map((name) => parseMessage(path.join(dir, name))));
}

let sequence = 0;

/** Keeps one message, its envelope in a preamble, under a name that sorts by arrival. */
async function storeMessage(
  dir: string,
  session: SMTPServerSession,
  data: Buffer,
  log: ((line: string) => void) | undefined,
): Promise<void> {
  const receivedAt = new Date();
  const envelopeFrom = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
  const envelopeTo = session.envelope.rcptTo.map((r) => r.address);
  const preamble =
    `${ENVELOPE_FROM}: ${envelopeFrom}\r\n${ENVELOPE_TO}: ${envelopeTo.join(', ')}\r\n` +
    `${RECEIVED_AT}: ${receivedAt.toISOString()}\r\n`;
  sequence += 1;
  const name = `${receivedAt.toISOString().replace(/[:.]/g, '-')}-${String(sequence).padStart(6, '0')}-${randomBytes(3).toString('hex')}.eml`;
  const file = path.join(dir, name);
  await writeFile(file, preamble + data.toString('utf8'));
  if (log !== undefined) {
    const message = await parseMessage(file);
    log(
      `[mail] ${message.receivedAt} ${envelopeFrom} → ${envelopeTo.join(', ')}: ${message.subject} (${file})`,
    );
  }
}

function listen(server: SMTPServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.server.once('error', onError);
    server.listen(port, host, () => {
      server.server.off('error', onError);
      const address = server.server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/** A local SMTP server that accepts everything and keeps each message as a readable `.eml` file. */
export async function startMailSink(options: StartMailSinkOptions): Promise<MailSink> {
  await mkdir(options.dir, { recursive: true });
  const log = options.log === false ? undefined : (options.log ?? ((line: string) => console.log(line)));
  const serverOptions: SMTPServerOptions = {
    name: 'mail-sink.localhost',
    banner: 'BizzStream dev mail sink',
    authOptional: true,
    allowInsecureAuth: true,
    // No STARTTLS: nodemailer would upgrade opportunistically and then reject the self-signed certificate.
    disabledCommands: ['STARTTLS'],
    size: MAX_MESSAGE,
    logger: false,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error: Error) => callback(error));
      stream.on('end', () => {
        storeMessage(options.dir, session, Buffer.concat(chunks), log)
          .then(() => callback())
          .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
      });
    },
  };
  const servers: SMTPServer[] = [];
  const v4 = new SMTPServer(serverOptions);
  v4.on('error', (error) => console.error('[mail] SMTP error', error));
  const port = await listen(v4, options.port ?? 0, '127.0.0.1');
  servers.push(v4);
  const v6 = new SMTPServer(serverOptions);
  v6.on('error', (error) => console.error('[mail] SMTP error', error));
  try {
    await listen(v6, port, '::1');
    servers.push(v6);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT' && code !== 'EINVAL') throw error;
  }
  return {
    port,
    dir: options.dir,
    url: `smtp://localhost:${port}`,
    messages: () => readMailbox(options.dir),
    async stop() {
      await Promise.all(
        servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
    },
  };
}
